"""A reply is delivered once, however many senders reach for it, over the real Postfix.

Two guards keep it so: `deskterm send` takes the desk's worker lock, so it cannot run beside
a `deskterm poll` (which sends by itself), and claiming a reply (queued -> sending) succeeds
only while it is still queued, so two senders that both saw it queued (two machines of a team
desk, each with its own lock, on one PostgreSQL) cannot both take it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest

from deskterm.outbound import outbox
from deskterm.store import connection
from deskterm.store.db import database
from deskterm.store.models import Outbox
from tests.conftest import Desk
from tests.engine.test_outbound import CUSTOMER, SUPPORT, add_desk, one_conversation
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver


class HeldRelay:
    """A TCP relay to Postfix that holds its first connection (relaying nothing either way)
    until `release()`: a sender caught in the middle of sending, its reply claimed. Later
    connections are relayed at once."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.first_connected = threading.Event()
        self.released = threading.Event()
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def port(self) -> int:
        return self._server.getsockname()[1]

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self._closed.set()
        self.released.set()
        for sock in [self._server, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            held = self.connections == 1
            self._start(self._serve, client, held)
            if held:
                self.first_connected.set()

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve(self, client: socket.socket, held: bool) -> None:
        self._sockets.append(client)
        if held:
            self.released.wait()
        if self._closed.is_set():
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        self._sockets.append(upstream)
        self._start(self._pipe, upstream, client)
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)


@pytest.fixture
def relay(boxes: Any) -> Iterator[HeldRelay]:
    held = HeldRelay(boxes.submission_port)
    yield held
    held.close()


def queue_a_reply(desk: Desk, boxes: Any) -> None:
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    desk.run("reply", str(one_conversation(desk)["id"]), "--body-file", "-", input="Answer\n")


def delivered(boxes: Any) -> list[str]:
    """Message-IDs in the customer's INBOX once Postfix has delivered all it accepted."""
    boxes.wait_until_queue_empty()
    return [message_from_bytes(raw)["Message-ID"] for raw in boxes.messages(CUSTOMER)]


@pytest.mark.sqlite_only(
    "the desk's file lock refuses a second sender; "
    "a team desk leaves the channel to its leader (test_channel_leads)"
)
def test_send_beside_a_running_worker_is_refused(desk: Desk, boxes: Any, relay: HeldRelay) -> None:
    """The worker has claimed the reply and is sending it: a `deskterm send` now must not
    queue it again (it would take replies left `sending` for a dead sender's) and send it too."""
    add_desk(desk, boxes, outbound_port=relay.port)
    queue_a_reply(desk, boxes)
    worker = subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli", "poll", "--once"],
        env={**os.environ, "DESKTERM_HOME": str(desk.home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert relay.first_connected.wait(60), "the worker never connected to send"
        [item] = desk.json("outbox")
        assert item["state"] == "sending"  # claimed by the worker, its session held open

        result = desk.run("send", ok=False)
        assert result.exit_code == 1
        assert "Another `deskterm poll` is already running" in result.stderr
        assert desk.json("outbox")[0]["state"] == "sending"  # still the worker's
    finally:
        relay.release()
        _, errors = worker.communicate(timeout=60)
    assert worker.returncode == 0, errors
    [sent] = desk.json("outbox", "--all")
    assert sent["state"] == "sent"
    assert len(delivered(boxes)) == 1
    assert relay.connections == 1  # nobody else ever tried


@pytest.fixture(params=["sqlite", "postgresql"])
def team_desk(request: pytest.FixtureRequest, desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """The desk on its SQLite file, or on the suite's PostgreSQL as a team desk shares it."""
    if request.param == "postgresql":
        monkeypatch.setenv("DESKTERM_DATABASE_URL", request.getfixturevalue("pg_desk_url"))
        request.addfinalizer(connection.close_database)  # before the database is dropped
    return desk


def test_two_senders_that_both_saw_the_reply_queued_send_it_once(
    team_desk: Desk, boxes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two flushes read the outbox together (both see the reply queued), then both claim it:
    only one may win. Each runs in its own thread with its own connection to the database,
    as two machines of a team desk would."""
    from deskterm.outbound import delivery
    from deskterm.secrets.store import open_secret_store

    add_desk(team_desk, boxes)
    queue_a_reply(team_desk, boxes)
    connection.open_database()
    both_read = threading.Barrier(2, timeout=30)
    claim = outbox.claim

    def claim_after_both_read(item: Outbox) -> bool:
        both_read.wait()
        return claim(item)

    monkeypatch.setattr(outbox, "claim", claim_after_both_read)
    results: list[Any] = []
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            results.extend(delivery.flush(open_secret_store()))
        except BaseException as exc:
            failures.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert [r.state for r in results] == ["sent"]  # the other sender took nothing
    assert Outbox.get().state == "sent" and Outbox.get().attempts == 1
    assert len(delivered(boxes)) == 1
