"""The long-running worker: IMAP IDLE, clean stops, one worker per desk."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from deskterm.channels.health import channel_state, in_skip_window
from deskterm.engine.events import Event, IdleChanged
from deskterm.engine.pool import FORKSERVER_PRELOAD
from deskterm.engine.worker import Worker
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import Channel, Conversation, JobRun
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail

SUPPORT = "support@desk.test"


def wait_for(condition, timeout: float = 15.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.mailserver
def test_idle_ingests_new_mail_within_seconds(desk: Desk, mail_servers, monkeypatch) -> None:
    mail_servers.clear(SUPPORT)
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")  # only IDLE can bring mail in time
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    connection.open_database()
    events: list[Event] = []
    worker = Worker(store=open_secret_store(), on_event=events.append)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        wait_for(
            lambda: any(
                isinstance(e, IdleChanged) and e.message == "IDLE connected" for e in events
            )
        )
        wait_for(lambda: JobRun.select().count() >= 1)
        mail_servers.deliver(make_mail("Arrives while idling"), SUPPORT)
        # The next poll is an hour away: only IDLE brings it (how quickly: bench.idle_latency).
        wait_for(lambda: Conversation.select().count() == 1, timeout=10)
        assert Conversation.get().subject == "Arrives while idling"
    finally:
        worker.request_stop()
        thread.join(timeout=15)
    assert not thread.is_alive()
    # Stopped means logged out: no IDLE thread outlives the worker, holding a session that
    # would go on taking mail (one from a stopped worker once raced a later test's pollers).
    assert not [t.name for t in threading.enumerate() if t.name.startswith("idle-")]


@pytest.mark.sqlite_only(
    "the desk file's one worker, a second one refused; "
    "a team desk's second worker waits as a standby (test_channel_leads)"
)
@pytest.mark.mailserver
def test_sigterm_ends_the_worker_cleanly_and_one_worker_per_desk(desk: Desk, mail_servers) -> None:
    mail_servers.clear(SUPPORT)
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    mail_servers.append(SUPPORT, make_mail("Before the worker starts"))
    env = {**os.environ, "DESKTERM_HOME": str(desk.home)}
    command = [sys.executable, "-m", "deskterm.cli.main", "poll"]
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        connection.open_database()
        wait_for(lambda: Conversation.select().count() == 1)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert "Another `deskterm poll` is already running" in second.stderr
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert "Traceback" not in stderr
    assert "fetched 1, ingested 1" in stderr


def test_skip_windows_cross_midnight() -> None:
    at = datetime(2026, 1, 1, 23, 30)
    assert in_skip_window(["23:00-01:00"], at) == "23:00-01:00"
    assert in_skip_window(["23:00-01:00"], datetime(2026, 1, 1, 0, 30)) == "23:00-01:00"
    assert in_skip_window(["23:00-01:00"], datetime(2026, 1, 1, 1, 0)) is None
    assert in_skip_window(["02:00-04:00"], at) is None


def test_channel_states_say_why(desk: Desk) -> None:
    from tests.engine.test_channel_config import CONTRACT

    desk.add_channel(CONTRACT)
    connection.open_database()
    channel = Channel.get()
    assert channel_state(channel)[0] == "new"
    channel.paused = True
    assert channel_state(channel) == ("paused", "polling is paused for this channel")
    channel.paused = False
    channel.status = "disabled"
    assert channel_state(channel)[0] == "disabled"


@pytest.mark.parametrize("module", FORKSERVER_PRELOAD)
def test_the_forkserver_preloads_modules_that_exist(module: str) -> None:
    """multiprocessing skips a preload that fails to import without a word: a module moved or
    renamed would leave every parsing process importing the parser itself."""
    importlib.import_module(module)


def test_a_stop_asked_during_a_pass_ends_the_loop_instead_of_its_sleep(
    desk: Desk, monkeypatch
) -> None:
    """A SIGTERM whose handler runs while the loop is busy (its IDLE watcher woke it, say)
    sets `stop` and `wake` mid-pass; the loop then clears `wake` before it sleeps. Cleared
    unchecked, that swallowed the stop and the worker slept its whole time (a clean-clone CI
    run saw `deskterm poll` ignore SIGTERM for that reason)."""
    connection.open_database()
    worker = Worker(store=open_secret_store())
    monkeypatch.setattr(worker, "_sleep_time", lambda: 3600.0)
    monkeypatch.setattr(worker, "sla_pass", worker.request_stop)  # the handler, mid-pass
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the worker slept through a stop asked during its pass"
