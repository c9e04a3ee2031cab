"""Text from mail and from servers never reaches the terminal with its control sequences
(issue 10, 8): every CLI line goes through `cli.say`, every toast through `DeskApp.notify`."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.engine.events import DeliveryResult
from tests.conftest import Desk, channel_toml
from tests.tui.test_app import drive

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m"


@pytest.fixture
def hostile_server() -> Iterator[int]:
    """An SMTP server whose answer to AUTH carries terminal escape sequences (OSC title, CSI,
    C1), as any server the admin points a channel at may."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def talk(conn: socket.socket) -> None:
        lines = conn.makefile("rb")
        conn.sendall(b"220 smtp.example ESMTP\r\n")
        for line in lines:
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-smtp.example\r\n250 AUTH PLAIN LOGIN\r\n")
            elif verb == b"AUTH":
                conn.sendall(f"535 {HOSTILE} go away\r\n".encode("latin-1"))
            else:
                conn.sendall(b"221 bye\r\n")
                return

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    talk(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.mark.mailserver
def test_channel_test_details_from_a_server_are_printed_clean(
    desk: Desk, mail_servers, hostile_server: int
) -> None:
    toml = channel_toml(mail_servers, outbound_security="none", outbound_port=hostile_server)
    password = mail_servers.users["support@desk.test"]
    desk.add_channel(toml, inbound=password, outbound=password)
    result = desk.run("channel", "test", "support", ok=False)
    assert "go away" in result.stdout  # the server's words are shown...
    for control in ("\x1b", "\x07", "\x9b"):  # ...without what would drive the terminal
        assert control not in result.stdout


def test_every_toast_is_shown_clean(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        # A screen's toast quoting an address (the composer's "queued for ..."), and a
        # delivery event carrying the SMTP server's answer: both become toasts via the app.
        app.screen.notify(f"Reply to #1 queued for a{HOSTILE}@x.example.")
        app._on_engine_event(DeliveryResult(1, "sent", f"250 ok {HOSTILE}"))
        await pilot.pause()
        shown = [str(n.message) for n in app._notifications]
        assert len(shown) == 2
        for message in shown:
            assert not any(c in message for c in "\x1b\x07\x9b"), repr(message)
        assert "queued for a]0;pwned" in shown[0]  # the text itself is kept

    drive(scenario)
