"""One IMAP IDLE session (RFC 2177) on an open mailbox, read without blocking.

The protocol side of IDLE: start it, read the server's lines as they come, say when new mail
arrived, renew before servers drop it, and raise when the server ends it. Who is watched, when
a session is opened again and what new mail leads to is the engine's business (engine.idle).
"""

from __future__ import annotations

import contextlib
import imaplib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable

from deskterm.errors import DeskError
from deskterm.net.imap import DeskMailBox
from deskterm.net.tls import Endpoint, server_words

IDLE_RENEW_SECONDS = 24 * 60  # RFC 2177: servers may drop IDLE after 29 minutes
# The least a session is held when its login expires sooner (an OAuth2 token with little time
# left): a provider that issues short tokens must not have the watcher sign in every moment.
IDLE_MIN_SECONDS = 5.0
# What IDLE reads is short untagged lines ("* 23 EXISTS"): a server that sends a longer one is
# not holding IDLE, and the session is ended as lost rather than buffered without end.
MAX_IDLE_LINE = 64 * 1024
MAX_DRAIN = 1024 * 1024  # bytes read per look at the socket; the rest waits for the next


class IdleLost(DeskError):
    """The server ended an IDLE session (BYE, or the connection closed): reconnect."""


def hold(
    mailbox: DeskMailBox,
    endpoint: Endpoint,
    folder: str,
    *,
    stop: threading.Event,
    connected: Callable[[], None],
    arrived: Callable[[], None],
    wanted: Callable[[], bool],
    recheck_seconds: float,
    login_expires: float | None = None,
) -> bool:
    """Hold IDLE on `folder` of a logged-in mailbox, until stop, renewal time, or not `wanted`.

    `connected` is called once IDLE runs, `arrived` on each untagged EXISTS/RECENT, `wanted`
    every `recheck_seconds` (False: let go of the server). Renewal time comes sooner when the
    login expires (`login_expires` seconds from now: an OAuth2 access token), so that the
    caller signs in again with a fresh token before the server ends the session for it.

    False: the server does not offer IDLE. A lost connection raises (IdleLost, or the network
    error) so that the caller reconnects; returning [] for it, as imap-tools' IdleManager.poll
    does, left the IDLE thread spinning on a dead socket for 24 minutes.
    """
    # After login: servers (Dovecot) list more then, and net.imap.login reads it again.
    if "IDLE" not in mailbox.client.capabilities:
        return False
    mailbox.folder.set(folder)
    mailbox.idle.start()
    connected()
    reader = _IdleReader(mailbox.client, endpoint)
    renew = IDLE_RENEW_SECONDS
    if login_expires is not None:
        renew = max(IDLE_MIN_SECONDS, min(renew, login_expires))
    renew_at = time.monotonic() + renew
    recheck_at = time.monotonic() + recheck_seconds
    while not stop.is_set() and time.monotonic() < renew_at:
        responses = reader.read(timeout=2)
        if any(b"EXISTS" in r or b"RECENT" in r for r in responses):
            arrived()
        if time.monotonic() >= recheck_at:  # paused meanwhile: let go of the server
            recheck_at = time.monotonic() + recheck_seconds
            if not wanted():
                break
    with contextlib.suppress(OSError, EOFError, imaplib.IMAP4.error):  # it ends either way
        mailbox.idle.stop()
    return True


class _IdleReader:
    """The server's lines during IDLE, read without blocking; a lost connection raises.

    imaplib reads whole lines and blocks; here the socket is polled with a timeout, and all
    that has arrived is read at once. A closed connection is told apart from "nothing yet"
    (a plain socket reads b"" for both when non-blocking) by peeking at the TCP socket.
    """

    def __init__(self, client: imaplib.IMAP4, endpoint: Endpoint) -> None:
        self.client = client
        self.endpoint = endpoint
        self.partial = b""  # a line whose end has not arrived yet

    def read(self, timeout: float) -> list[bytes]:
        """Complete lines received within `timeout` seconds (maybe none)."""
        sock: socket.socket = self.client.sock
        # Lines may wait inside imaplib's buffer or the TLS layer, where poll() cannot see them.
        data = self._drain(sock)
        if not data:
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            if not poller.poll(timeout * 1000):
                return []
            data = self._drain(sock)
            # Readable yet nothing to read: the end of the connection, or a TLS record whose
            # rest is still on its way (then the socket is not readable again until it comes).
            if not data:
                if _peer_closed(sock):
                    raise self._lost("closed the connection")
                return []
        *complete, self.partial = (self.partial + data).split(b"\n")
        if len(self.partial) > MAX_IDLE_LINE:
            raise self._lost("sent a line too long for IDLE")
        lines = [line.rstrip(b"\r") for line in complete]
        for line in lines:
            if line.startswith(b"* BYE"):
                said = server_words(line[5:].decode("utf-8", "replace"))
                raise self._lost(f"ended the session ({said})" if said else "ended the session")
        return lines

    def _drain(self, sock: socket.socket) -> bytes:
        """What can be read now, without waiting; b"" if nothing (or the end)."""
        previous = sock.gettimeout()
        sock.settimeout(0)
        chunks: list[bytes] = []
        size = 0
        try:
            while size < MAX_DRAIN:
                try:
                    chunk = self.client.file.read1(65536)
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)
        return b"".join(chunks)

    def _lost(self, what: str) -> IdleLost:
        return IdleLost(
            f"The {self.endpoint.label} server {self.endpoint.where} {what}; deskterm "
            "connects again and keeps polling meanwhile."
        )


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the TCP connection has ended (EOF or reset), without consuming anything."""
    try:
        return socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
