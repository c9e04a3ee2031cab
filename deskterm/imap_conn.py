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
from deskterm.errors import AuthError
from deskterm.steps import Steps
from deskterm.tls import Endpoint


class _PreconnectedIMAP4(imaplib.IMAP4):
    """imaplib over a socket we connected (and maybe wrapped) ourselves."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self._presock = sock
        super().__init__(endpoint.host, endpoint.port, endpoint.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._presock


class DeskMailBox(imap_tools.BaseMailBox):
    """imap-tools' mailbox API over a client opened by `connect`."""

    def __init__(self, client: imaplib.IMAP4) -> None:
        self._client = client
        super().__init__()

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        return self._client


def connect(endpoint: Endpoint, steps: Steps | None = None) -> DeskMailBox:
    steps = steps or Steps()
    with steps.step("connect", endpoint) as found:
        sock = tls.open_socket(endpoint)
        found.detail = f"TCP connection to {endpoint.where}"
    try:
        if endpoint.security == "ssl":
            with steps.step("TLS handshake", endpoint) as found:
                sock = tls.wrap(endpoint, sock)
                found.detail = tls.describe(endpoint, sock)
        with steps.step("greeting", endpoint) as found:
            client = _PreconnectedIMAP4(sock, endpoint)
            found.detail = f"IMAP server ready ({len(client.capabilities)} capabilities)"
        if endpoint.security == "starttls":
            with steps.step("STARTTLS", endpoint) as found:
                client.starttls(tls.client_context(endpoint))
                tls.check_peer(endpoint, client.sock)  # type: ignore[arg-type]
                found.detail = tls.describe(endpoint, client.sock)
    except BaseException:
        sock.close()
        raise
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
            raise AuthError(
                f"The IMAP server {endpoint.where} refused the login for {username}: wrong user "
                f"name or password; set it again with `deskterm channel secret {endpoint.channel}"
                " --inbound --stdin`."
            ) from None
        found.detail = f"logged in as {username}"
