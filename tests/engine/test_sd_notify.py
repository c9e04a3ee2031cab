"""sd_notify: the datagrams a `Type=notify` unit's manager receives, on a socket the test binds
as systemd would (a path, or an abstract name written `@name`), and what feeds the watchdog."""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskterm.engine.events import Event, IdleChanged, LoopPass, SyncProgress
from deskterm.engine.sd_notify import ServiceNotifier, heartbeat, socket_address

pytestmark = pytest.mark.without_database


class Manager:
    """The service manager's end: a bound datagram socket and what arrived on it."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(socket_address(address))
        self.sock.setblocking(False)
        self.address = address

    def received(self) -> list[str]:
        got = []
        while True:
            try:
                got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return got


@pytest.fixture
def manager() -> Iterator[Manager]:
    folder = tempfile.mkdtemp(prefix="sdn", dir="/tmp")  # AF_UNIX paths are short
    manager = Manager(f"{folder}/notify")
    yield manager
    manager.sock.close()
    Path(f"{folder}/notify").unlink()
    os.rmdir(folder)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_and_stopping_reach_a_path_socket(manager: Manager) -> None:
    notifier = ServiceNotifier({"NOTIFY_SOCKET": manager.address})
    notifier.ready("Polling.")
    notifier.stopping()
    assert manager.received() == ["READY=1\nSTATUS=Polling.", "STOPPING=1"]


def test_an_abstract_socket_is_written_with_an_at_sign() -> None:
    name = f"@deskterm-test-{secrets.token_hex(6)}"
    manager = Manager(name)
    try:
        ServiceNotifier({"NOTIFY_SOCKET": name}).ready()
        assert manager.received() == ["READY=1"]
    finally:
        manager.sock.close()


@pytest.mark.parametrize("value", ["", "relative/notify", "@"])
def test_without_a_usable_socket_nothing_is_sent(value: str) -> None:
    notifier = ServiceNotifier({"NOTIFY_SOCKET": value, "WATCHDOG_USEC": "1000000"})
    assert not notifier.active
    assert notifier.watchdog_interval is None
    assert notifier.send("READY=1") is False


def test_a_manager_gone_away_is_not_an_error(tmp_path: Path) -> None:
    notifier = ServiceNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.send("READY=1") is False  # logged once, never raised
    notifier.ready()
    notifier.stopping()


def test_the_watchdog_is_petted_at_most_four_times_per_interval(manager: Manager) -> None:
    clock = Clock()
    env = {"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "8000000"}  # 8 s
    notifier = ServiceNotifier(env, clock=clock)
    assert notifier.watchdog_interval == 8.0
    notifier.alive()
    clock.now += 1.9
    notifier.alive()  # too soon: 2 s is a quarter of 8
    clock.now += 0.1
    notifier.alive()
    assert manager.received() == ["WATCHDOG=1", "WATCHDOG=1"]


@pytest.mark.parametrize(
    "env",
    [
        {},  # WatchdogSec= not set: no pets
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "nonsense"},
        {"WATCHDOG_USEC": "8000000", "WATCHDOG_PID": "1"},  # meant for another process
    ],
    ids=["unset", "zero", "nonsense", "other-pid"],
)
def test_no_pets_unless_the_watchdog_is_meant_for_this_process(
    manager: Manager, env: dict[str, str]
) -> None:
    notifier = ServiceNotifier({"NOTIFY_SOCKET": manager.address, **env})
    notifier.alive()
    assert manager.received() == []


def test_the_watchdog_for_this_pid_is_honoured(manager: Manager) -> None:
    env = {"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "1", "WATCHDOG_PID": str(os.getpid())}
    ServiceNotifier(env).alive()
    assert manager.received() == ["WATCHDOG=1"]


def test_heartbeat_says_ready_at_the_first_pass_and_pets_from_the_loop_only(
    manager: Manager,
) -> None:
    clock = Clock()
    env = {"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "4"}  # any gap is long enough
    heard: list[Event] = []
    listener = heartbeat(ServiceNotifier(env, clock=clock), heard.append)

    def tick() -> None:
        clock.now += 1.0

    listener(SyncProgress("support", "INBOX", 0, 1))  # before the loop: not ready yet
    assert manager.received() == []
    listener(LoopPass())
    tick()
    listener(SyncProgress("support", "INBOX", 1, 1))  # a long sync keeps the watchdog fed
    tick()
    listener(LoopPass())
    assert manager.received() == [
        "READY=1\nSTATUS=Polling the desk's channels.",
        "WATCHDOG=1",
        "WATCHDOG=1",
        "WATCHDOG=1",
    ]
    # An IDLE watcher's thread is alive while the loop may be hung: it feeds nothing.
    tick()
    other = threading.Thread(target=listener, args=(IdleChanged("support", "IDLE connected"),))
    other.start()
    other.join()
    tick()
    listener(IdleChanged("support", "IDLE lost: reset"))
    assert manager.received() == []
    assert len(heard) == 6  # every event still reaches the listener


def test_heartbeat_without_systemd_only_passes_events_on() -> None:
    heard: list[Event] = []
    listener = heartbeat(ServiceNotifier({}), heard.append)
    listener(LoopPass())
    assert len(heard) == 1
