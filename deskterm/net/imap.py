"""Opening an IMAP mailbox: TCP, TLS (pin checked), greeting, STARTTLS, login.

Each stage is a timed step so that `channel test` can say exactly where a connection fails;
the worker uses the same code with nobody listening to the steps.
"""

from __future__ import annotations

import imaplib
import socket

import imap_tools
from imap_tools.errors import MailboxLoginError

from deskterm.net import tls
from deskterm.net.steps import Preconnected, Steps, login_step, open_line_protocol
from deskterm.net.tls import Endpoint


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
    username: str,
    password: str,
    steps: Steps | None = None,
) -> None:
    with login_step(steps, endpoint, username, MailboxLoginError) as found:
        mailbox.login(username, password, initial_folder=None)
        refresh_capabilities(mailbox.client)
        found.detail = f"logged in as {username}"


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
