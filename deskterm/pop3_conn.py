"""Opening a POP3 mailbox: TCP, TLS (pin checked), greeting, STLS, login."""

from __future__ import annotations

import poplib
import socket

from deskterm import tls
from deskterm.errors import AuthError
from deskterm.steps import Steps
from deskterm.tls import Endpoint


class _PreconnectedPOP3(poplib.POP3):
    """poplib over a socket we connected (and maybe wrapped) ourselves."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self._presock = sock
        super().__init__(endpoint.host, endpoint.port, endpoint.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._presock


def connect(endpoint: Endpoint, steps: Steps | None = None) -> poplib.POP3:
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
            client = _PreconnectedPOP3(sock, endpoint)
            found.detail = "POP3 server ready"
        if endpoint.security == "starttls":
            with steps.step("STLS", endpoint) as found:
                client.stls(tls.client_context(endpoint))
                tls.check_peer(endpoint, client.sock)  # type: ignore[arg-type]
                found.detail = tls.describe(endpoint, client.sock)
    except BaseException:
        sock.close()
        raise
    return client


def login(
    client: poplib.POP3,
    endpoint: Endpoint,
    username: str,
    password: str,
    steps: Steps | None = None,
) -> None:
    steps = steps or Steps()
    with steps.step("login", endpoint) as found:
        try:
            client.user(username)
            client.pass_(password)
        except poplib.error_proto:
            raise AuthError(
                f"The POP3 server {endpoint.where} refused the login for {username}: wrong user "
                f"name or password; set it again with `deskterm channel secret {endpoint.channel}"
                " --inbound --stdin`."
            ) from None
        count, _size = client.stat()
        found.detail = f"logged in as {username}, {count} messages"
