"""Opening a POP3 mailbox: TCP, TLS (pin checked), greeting, STLS, login; and the few
commands a sync sends many of, pipelined."""

from __future__ import annotations

import poplib
import socket
from collections.abc import Iterator, Sequence

from deskterm.net import tls
from deskterm.net.login import Credentials, encoded, login_step, mechanism, responder
from deskterm.net.steps import Preconnected, Steps, open_line_protocol
from deskterm.net.tls import Endpoint, explain, server_words

# poplib refuses any line over 2048 bytes. Mail has longer ones (a careless mailer's unfolded
# header, a hostile one on purpose), and a poll that fails on one message fails on it at every
# poll, holding up all mail behind it. A message's lines are bounded by its size, which the
# sync checks before fetching; this only bounds memory against a misbehaving server.
MAX_LINE = 64 * 1024 * 1024
# Commands sent before reading their replies (RFC 2449 PIPELINING): a first sync reads the
# headers of thousands of messages, and one round trip each would take minutes on a slow link.
# The replies of a group are read before the next is sent, so neither side's buffers fill up.
PIPELINE = 100


class _PreconnectedPOP3(Preconnected, poplib.POP3):
    def _getline(self) -> tuple[bytes, int]:
        """poplib's own, with room for long lines (see MAX_LINE)."""
        line = self.file.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise poplib.error_proto("line too long")
        if not line:
            raise poplib.error_proto("-ERR EOF")
        octets = len(line)
        if line[-2:] == b"\r\n":
            return line[:-2], octets
        if line[:1] == b"\r":
            return line[1:-1], octets
        return line[:-1], octets


def connect(endpoint: Endpoint, steps: Steps | None = None) -> poplib.POP3:
    def stls(client: poplib.POP3) -> socket.socket:
        client.stls(tls.client_context(endpoint))
        return client.sock

    return open_line_protocol(
        endpoint,
        steps or Steps(),
        lambda sock: _PreconnectedPOP3(sock, endpoint),
        stls,
        "POP3 server ready",
        "STLS",
    )


def login(
    client: poplib.POP3,
    endpoint: Endpoint,
    credentials: Credentials,
    steps: Steps | None = None,
) -> None:
    refused = poplib.error_proto
    why = _refusal if credentials.oauth2 else None  # a password's sentence says it all
    with login_step(steps, endpoint, credentials, refused, reason=why) as found:
        if credentials.oauth2:
            _authenticate(client, endpoint, credentials)
        else:
            client.user(credentials.username)
            client.pass_(credentials.secret)
        try:
            count, _size = client.stat()
        except poplib.error_proto as exc:  # logged in: whatever fails now is not the password
            raise explain(exc, endpoint) from None
        found.detail = f"logged in as {credentials.username}, {count} messages"


def _authenticate(client: poplib.POP3, endpoint: Endpoint, credentials: Credentials) -> None:
    """AUTH with the token (RFC 5034): the mechanism, the token at the server's "+ ", and to
    the error challenge of a refused token ("+ " and base64 JSON, as Gmail and Dovecot send),
    the answer that makes the server say -ERR; an -ERR raises poplib.error_proto, as PASS."""
    try:
        sasl = client.capa().get("SASL", [])
    except (poplib.error_proto, ValueError):  # no CAPA: ask for XOAUTH2 anyway
        sasl = []
    name = mechanism({m.upper() for m in sasl}, endpoint)
    answer = responder(name, credentials, endpoint)
    client._putcmd(f"AUTH {name}")
    line, _octets = client._getline()
    for _round in range(2):  # the token, then the answer to an error challenge
        if not (line.startswith(b"+ ") or line == b"+"):  # +OK or -ERR
            break
        client._putcmd(encoded(answer(line[2:])))
        line, _octets = client._getline()
    if not line.startswith(b"+OK"):
        raise poplib.error_proto(line)


def _refusal(exc: poplib.error_proto) -> str:
    """The server's words after -ERR, for the end of the sentence."""
    said = exc.args[0] if exc.args else b""
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return server_words(text.removeprefix("-ERR"))


def pipeline_depth(client: poplib.POP3) -> int:
    """How many commands to send per round trip: PIPELINE if the server says it can take
    them (CAPA), else one at a time, as RFC 1939 servers need."""
    try:
        capabilities = client.capa()
    except (poplib.error_proto, ValueError):  # no CAPA, or a reply that is not ASCII
        return 1
    return PIPELINE if "PIPELINING" in capabilities else 1


def listing(client: poplib.POP3) -> dict[str, int]:
    """UIDL -> message number in this session."""
    found = {}
    for line in client.uidl()[1]:
        number, _, uidl = line.decode("ascii", "replace").partition(" ")
        found[uidl.strip()] = int(number)
    return found


def sizes(client: poplib.POP3) -> dict[int, int]:
    """Message number -> size in bytes (`LIST`)."""
    found = {}
    for line in client.list()[1]:
        number, _, size = line.decode("ascii", "replace").partition(" ")
        found[int(number)] = int(size.split()[0]) if size.strip() else 0
    return found


def headers(client: poplib.POP3, numbers: Sequence[int], depth: int) -> dict[int, bytes]:
    """The header block of each message (`TOP n 0`), without reading any body.

    A message the server refuses to show is left out of the result rather than failing the
    sync: the caller then treats its headers as unknown.
    """
    commands = [f"TOP {n} 0" for n in numbers]
    return {
        number: b"\r\n".join(lines) + b"\r\n"
        for number, lines in zip(numbers, _replies(client, commands, depth, True), strict=True)
        if lines is not None
    }


def retrieve(client: poplib.POP3, number: int) -> bytes:
    """One whole message (`RETR`), its lines ending in CRLF.

    poplib's `retr` returns a list of lines, a bytes object each: for a 20 MB mail 270,000
    objects, half as big again as the mail, before the caller joins them into a second copy.
    Here the lines go straight into one buffer; a refusal raises poplib.error_proto, as
    `retr` does.
    """
    client._putcmd(f"RETR {number}")
    client._getresp()  # raises on -ERR
    buffer = bytearray()
    line, _octets = client._getline()
    while line != b".":
        buffer += line[1:] if line.startswith(b"..") else line
        buffer += b"\r\n"
        line, _octets = client._getline()
    return bytes(buffer)


def delete(client: poplib.POP3, numbers: Sequence[int], depth: int) -> list[int]:
    """Mark messages deleted (`DELE`); the server removes them only at QUIT.

    Returns the numbers the server refused; they stay on the server, which loses nothing.
    """
    commands = [f"DELE {n}" for n in numbers]
    replies = _replies(client, commands, depth, False)
    return [n for n, reply in zip(numbers, replies, strict=True) if reply is None]


def _replies(
    client: poplib.POP3, commands: Sequence[str], depth: int, multiline: bool
) -> Iterator[list[bytes] | None]:
    """Each command's reply in order: its lines (none for a one-line reply), or None for -ERR.

    An -ERR ends only its own command, so the replies that follow it in the pipeline are
    still read; a broken connection raises.
    """
    for start in range(0, len(commands), depth):
        group = commands[start : start + depth]
        client.sock.sendall(b"".join(c.encode("ascii") + b"\r\n" for c in group))
        for _ in group:
            status, _octets = client._getline()
            if not status.startswith(b"+"):
                yield None
                continue
            lines: list[bytes] = []
            if multiline:
                line, _octets = client._getline()
                while line != b".":
                    lines.append(line[1:] if line.startswith(b"..") else line)
                    line, _octets = client._getline()
            yield lines
