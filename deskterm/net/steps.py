"""Timed steps of a connection, reported as they complete.

The connection test (CLI and the UI's Test button) shows each step with its time the moment
it ends; the worker passes no reporter and the same code runs silently.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from deskterm.net import tls
from deskterm.net.tls import Endpoint, explain

C = TypeVar("C")


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    warning: str = ""


@dataclass
class Step:
    """Handed to the body of a step so it can say what it found."""

    detail: str = ""
    warning: str = ""


@dataclass
class Steps:
    on_step: Callable[[StepResult], None] | None = None
    results: list[StepResult] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, endpoint: Endpoint) -> Iterator[Step]:
        """Time the body; a failure is recorded and re-raised as the user-facing sentence."""
        found = Step()
        start = time.perf_counter()
        try:
            yield found
        except Exception as exc:  # not Ctrl-C, exit, or an asyncio task's cancellation
            error = explain(exc, endpoint)
            self.record(
                StepResult(
                    f"{endpoint.label} {name}", False, time.perf_counter() - start, str(error)
                )
            )
            if error is exc:
                raise
            raise error from None
        self.record(
            StepResult(
                f"{endpoint.label} {name}",
                True,
                time.perf_counter() - start,
                found.detail,
                found.warning,
            )
        )

    def record(self, result: StepResult) -> None:
        self.results.append(result)
        if self.on_step:
            self.on_step(result)


class Preconnected:
    """Mixed into imaplib/poplib clients: they speak over a socket we connected (and maybe
    wrapped) ourselves, so that connecting and TLS are steps of their own."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self._presock = sock
        super().__init__(endpoint.host, endpoint.port, endpoint.timeout)  # type: ignore[call-arg]

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._presock


def open_line_protocol(
    endpoint: Endpoint,
    steps: Steps,
    greet: Callable[[socket.socket], C],
    starttls: Callable[[C], socket.socket],
    ready: str,
    starttls_step: str = "STARTTLS",
) -> C:
    """TCP, implicit TLS or STARTTLS (pin checked before any credential), and the greeting:
    the same steps for IMAP and POP3, each timed and explained when it fails."""
    sock = open_tcp(endpoint, steps)
    try:
        if endpoint.security == "ssl":
            with steps.step("TLS handshake", endpoint) as found:
                sock = tls.wrap(endpoint, sock)
                found.detail = tls.describe(endpoint, sock)
        with steps.step("greeting", endpoint) as found:
            client = greet(sock)
            found.detail = ready
        if endpoint.security == "starttls":
            with steps.step(starttls_step, endpoint) as found:
                secured = starttls(client)
                tls.check_peer(endpoint, secured)  # type: ignore[arg-type]
                found.detail = tls.describe(endpoint, secured)
    except BaseException:
        sock.close()
        raise
    return client


def open_tcp(endpoint: Endpoint, steps: Steps) -> socket.socket:
    """The first step of every protocol: DNS and TCP."""
    with steps.step("connect", endpoint) as found:
        sock = tls.open_socket(endpoint)
        found.detail = f"TCP connection to {endpoint.where}"
    return sock
