"""Opening a POP3 mailbox: TCP, TLS (pin checked), greeting, STLS, login."""

from __future__ import annotations

import poplib
import socket

from deskterm import tls
from deskterm.steps import Preconnected, Steps, open_line_protocol, wrong_login
from deskterm.tls import Endpoint


class _PreconnectedPOP3(Preconnected, poplib.POP3):
    pass


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
            raise wrong_login(endpoint, username) from None
        count, _size = client.stat()
        found.detail = f"logged in as {username}, {count} messages"
