"""Opening an IMAP mailbox: TCP, TLS (pin checked), greeting, STARTTLS, login.

Each stage is a timed step so that `channel test` can say exactly where a connection fails;
the worker uses the same code with nobody listening to the steps.
"""

from __future__ import annotations

import imaplib
import socket

import imap_tools
from imap_tools.errors import MailboxLoginError

from deskterm import tls
from deskterm.steps import Preconnected, Steps, open_line_protocol, wrong_login
from deskterm.tls import Endpoint


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
    steps = steps or Steps()
    with steps.step("login", endpoint) as found:
        try:
            mailbox.login(username, password, initial_folder=None)
        except MailboxLoginError:
            raise wrong_login(endpoint, username) from None
        found.detail = f"logged in as {username}"
