"""Opening an IMAP mailbox (TCP, TLS with the pin checked, greeting, STARTTLS, login) and the
commands a sync sends over it.

Each stage of opening is a timed step so that `channel test` can say exactly where a
connection fails; the worker uses the same code with nobody listening to the steps.
"""

from __future__ import annotations

import imaplib
import re
import socket
from dataclasses import dataclass

import imap_tools
from imap_tools.errors import MailboxLoginError
from imap_tools.utils import encode_folder

from deskterm.errors import DeskError
from deskterm.net import tls
from deskterm.net.login import Credentials, login_step, mechanism, responder
from deskterm.net.steps import Preconnected, Steps, open_line_protocol
from deskterm.net.tls import Endpoint, server_words


class _PreconnectedIMAP4(Preconnected, imaplib.IMAP4):
    pass


class DeskMailBox(imap_tools.BaseMailBox):
    """imap-tools' mailbox API over a client opened by `connect`."""

    def __init__(self, client: imaplib.IMAP4) -> None:
        self._client = client
        super().__init__()

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        return self._client


def connect(endpoint: Endpoint, steps: Steps | None = None) -> DeskMailBox:
    def greet(sock: socket.socket) -> imaplib.IMAP4:
        return _PreconnectedIMAP4(sock, endpoint)

    def starttls(client: imaplib.IMAP4) -> socket.socket:
        client.starttls(tls.client_context(endpoint))
        return client.sock

    client = open_line_protocol(endpoint, steps or Steps(), greet, starttls, "IMAP server ready")
    return DeskMailBox(client)


def login(
    mailbox: DeskMailBox,
    endpoint: Endpoint,
    credentials: Credentials,
    steps: Steps | None = None,
) -> None:
    refused = (MailboxLoginError, _TokenRefused)
    why = str if credentials.oauth2 else None  # the server's words; a password's sentence says it
    with login_step(steps, endpoint, credentials, refused, reason=why) as found:
        if credentials.oauth2:
            _authenticate(mailbox.client, endpoint, credentials)
        else:
            mailbox.login(credentials.username, credentials.secret, initial_folder=None)
        refresh_capabilities(mailbox.client)
        found.detail = f"logged in as {credentials.username}"


class _TokenRefused(Exception):
    """AUTHENTICATE ended in NO or BAD (imaplib raises IMAP4.error, whose subclass abort is a
    lost connection, not a refusal)."""


def _authenticate(client: imaplib.IMAP4, endpoint: Endpoint, credentials: Credentials) -> None:
    """AUTHENTICATE with the token (XOAUTH2, else OAUTHBEARER, as the server offers)."""
    offered = {c[5:] for c in client.capabilities if c.startswith("AUTH=")}
    name = mechanism(offered, endpoint)
    try:
        client.authenticate(name, responder(name, credentials, endpoint))
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise _TokenRefused(server_words(str(exc))) from None


def refresh_capabilities(client: imaplib.IMAP4) -> None:
    """Ask for CAPABILITY again, as imaplib does at connect but not after LOGIN.

    Servers (Dovecot among them) list MOVE, UIDPLUS and more only once logged in; with the
    greeting's list, moving fell back to COPY + \\Deleted + EXPUNGE, which also expunged mail a
    person had marked \\Deleted and, interrupted, left copies behind. imap-tools and our sync
    read `client.capabilities`, so the fresh list goes there, upper-cased as imaplib keeps it.
    """
    typ, data = client.capability()
    latest = data[-1] if typ == "OK" and data else None
    if isinstance(latest, bytes) and latest.strip():
        client.capabilities = tuple(latest.decode("ascii", "replace").upper().split())


# --- commands ----------------------------------------------------------------------------------
# The IMAP a sync sends, with the server's refusals made sentences; which mail to ask for and
# what it becomes is the sync's business (deskterm.inbound.imap_sync).

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class FolderRefused(DeskError):
    """The server would not open a folder (it may have been deleted or renamed)."""


@dataclass(frozen=True)
class Selected:
    """What SELECT told about the folder it opened."""

    exists: int | None  # how many messages it holds, where the server said
    uidvalidity: int
    permanent_flags: bytes  # the flags it keeps; \\* when it keeps custom keywords too


@dataclass(frozen=True)
class Folder:
    """A folder of a channel's mailbox, as the errors of the commands on it name it."""

    host: str
    channel: str  # the channel's name, whose settings an error says to fix
    name: str


@dataclass(frozen=True)
class MoveTarget:
    """Where `move` takes mail, and what its errors name."""

    folder: str
    setting: str  # the channel setting that names the folder (move_on_success, ...)
    what: str  # what the move is for ("moving processed mail")


def select(client: imaplib.IMAP4, folder: str, *, readonly: bool = False) -> Selected:
    typ, data = client.select(_quote(folder), readonly=readonly)
    if typ != "OK":
        raise FolderRefused(f"Folder {folder!r} cannot be opened ({_server_text(data)}).")
    exists = data[0] if data and isinstance(data[0], bytes) else b""
    return Selected(
        int(exists) if exists.isdigit() else None,
        int(_response(client, "UIDVALIDITY") or 0),
        _response(client, "PERMANENTFLAGS") or b"",
    )


def search(client: imaplib.IMAP4, criteria: list[str]) -> list[int]:
    typ, data = client.uid("SEARCH", *criteria)
    if typ != "OK":
        raise DeskError(f"The IMAP server refused to search the folder ({_server_text(data)}).")
    return sorted({int(x) for x in (data[0] or b"").split()})


def sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(uids), 5000):
        typ, data = client.uid("FETCH", uid_set(uids[start : start + 5000]), "(RFC822.SIZE)")
        if typ != "OK":
            said = _server_text(data)
            raise DeskError(f"The IMAP server refused to list message sizes ({said}).")
        for line in data:
            head = line[0] if isinstance(line, tuple) else line
            uid, size = _UID.search(head or b""), _SIZE.search(head or b"")
            if uid and size:
                found[int(uid.group(1))] = int(size.group(1))
    return found


def fetch(
    client: imaplib.IMAP4, uids: list[int], part: str = "BODY.PEEK[]"
) -> list[tuple[str, bytes]]:
    """(UID, bytes) of each message, in one round trip for the whole batch; messages deleted
    meanwhile are simply absent."""
    if not uids:
        return []
    typ, data = client.uid("FETCH", uid_set(uids), f"(UID {part})")
    if typ != "OK":
        raise DeskError(f"The IMAP server refused to fetch messages ({_server_text(data)}).")
    items: list[tuple[str, bytes]] = []
    for index, part in enumerate(data):
        if not isinstance(part, tuple):
            continue
        uid = _UID.search(part[0])
        if uid is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            uid = _UID.search(data[index + 1])  # some servers send UID after the literal
        if uid is not None:
            items.append((uid.group(1).decode(), part[1]))
    return items


def move(
    client: imaplib.IMAP4, uids: list[int], keyword: str, source: Folder, target: MoveTarget
) -> None:
    """Move exactly these messages, touching nothing else in the folder.

    UID MOVE where offered. Otherwise COPY, then \\Deleted (with our keyword, so an
    interrupted move is not fetched again), then UID EXPUNGE of just these UIDs (UIDPLUS). A
    plain EXPUNGE would also remove mail a person marked \\Deleted without expunging it, so
    without UIDPLUS our \\Deleted originals stay for the person's client to expunge.
    """
    uids_text = uid_set(uids)
    capabilities = client.capabilities
    if "MOVE" in capabilities:
        typ, data = client.uid("MOVE", uids_text, _quote(target.folder))
        _check_moved(typ, data, source, target)
        return
    typ, data = client.uid("COPY", uids_text, _quote(target.folder))
    _check_moved(typ, data, source, target)
    store(client, uids, f"(\\Deleted {keyword})", source)
    if "UIDPLUS" in capabilities:
        typ, data = client.uid("EXPUNGE", uids_text)
        if typ != "OK":
            raise DeskError(
                f"{source.host} refused to remove moved mail from folder {source.name!r} "
                f"({_server_text(data)}); the copies are in {target.folder!r} and the originals "
                f"are marked deleted, so expunge {source.name!r} in a mail client."
            )


def _check_moved(typ: str, data: list[object], source: Folder, target: MoveTarget) -> None:
    """A refused MOVE/COPY as a DeskError: the run's error must say which setting to fix,
    not look like a bug in deskterm (imap-tools raised MailboxCopyError here)."""
    if typ == "OK":
        return
    host, name, what = source.host, source.channel, target.what
    if b"TRYCREATE" in _server_bytes(data):
        raise DeskError(
            f"Folder {target.folder!r} for {what} does not exist on {host}; create it or fix "
            f"{target.setting} in channel {name!r}."
        )
    raise DeskError(
        f"{host} refused {what} to folder {target.folder!r} ({_server_text(data)}); check the "
        f"folder and its permissions, or fix {target.setting} in channel {name!r}."
    )


def store(client: imaplib.IMAP4, uids: list[int], flags: str, folder: Folder) -> None:
    """Add flags to these messages; a refusal becomes a sentence naming the folder."""
    typ, data = client.uid("STORE", uid_set(uids), "+FLAGS.SILENT", flags)
    if typ != "OK":
        raise DeskError(
            f"{folder.host} refused to mark processed mail in folder {folder.name!r} "
            f"({_server_text(data)}); check that the account of channel {folder.channel!r} "
            f"may change flags in that folder."
        )


def uid_set(uids: list[int]) -> str:
    """Compress runs (1,2,3,7 -> 1:3,7): a 10,000-UID command stays short."""
    parts: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if start != prev else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)


def _server_bytes(data: object) -> bytes:
    """imaplib's response data as one byte string (for codes like [TRYCREATE])."""
    parts = data if isinstance(data, list) else [data]
    return b" ".join(p for p in parts if isinstance(p, bytes))


def _server_text(data: object) -> str:
    """The server's own words, short and printable, for the end of an error sentence."""
    return server_words(_server_bytes(data).decode("utf-8", "replace")) or "no reason given"


def _response(client: imaplib.IMAP4, name: str) -> bytes | None:
    _typ, data = client.response(name)
    value = data[0] if data else None
    if isinstance(value, bytes):
        return value
    return None


def _quote(folder: str) -> bytes:
    return encode_folder(folder)
