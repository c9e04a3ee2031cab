"""An agent's app on a PostgreSQL team desk (issue 15): its worker leads the channels it holds
the secrets of, beside a `deskterm poll` that may lead them instead.

Real PostgreSQL (the desk, and the advisory lock per channel), Dovecot and Postfix (the
channel). The `deskterm poll` process beside the app is another machine's worker as far as
the desk can tell (its own process and lock connection; it shares the home, as two machines
share a blob directory). Its loop's passes are counted on a notification socket of the test's
own, as systemd counts them (WATCHDOG=1 at each pass), so "it stayed standby" means it
asked for the channel at several passes and was refused, not that some time went by.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.store import connection
from deskterm.store.models import ChannelLead
from tests.conftest import Desk
from tests.engine.test_outbound import add_desk
from tests.engine.test_service_run import Manager, short_dir  # noqa: F401 - a fixture
from tests.engine.test_worker_faults import wait_for
from tests.tui.test_app import drive, notices, screen_text, until
from tests.tui.test_app_worker import open_worker, real_app, row

pytestmark = [pytest.mark.mailserver, pytest.mark.postgres]


def leader() -> int | None:
    """The pid the support channel's leader wrote (engine.leadership), on a connection of
    this thread's own."""
    connection.open_database()
    try:
        lead = ChannelLead.get_or_none()
        return lead.pid if lead is not None else None
    finally:
        connection.close_database()


class Standby:
    """A `deskterm poll` beside the app, its loop's passes heard on `manager`."""

    def __init__(self, home: Path, folder: Path) -> None:
        self.manager = Manager(folder)
        self.log = folder / "poll.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deskterm.cli.main", "poll"],
            env={
                **os.environ,
                "DESKTERM_HOME": str(home),
                "NOTIFY_SOCKET": self.manager.path,
                "WATCHDOG_USEC": "1",  # a pet at every pass: each is counted
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            start_new_session=True,
        )

    def passes(self) -> int:
        """The loop's passes (and batches) so far: WATCHDOG=1 after READY=1."""
        messages = list(self.manager.messages)
        if not any("READY=1" in m for m in messages):
            return 0
        return sum("WATCHDOG=1" in m for m in messages)

    def said(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.manager.close()


@pytest.fixture
def standby(desk: Desk, short_dir: Path) -> Iterator[list[Standby]]:  # noqa: F811
    started: list[Standby] = []
    yield started
    for one in started:
        one.stop()


@pytest.fixture
def team_channel(desk: Desk, pg: str, boxes: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The support channel on a team desk, its secrets held on this machine (so by the app
    and the `deskterm poll` alike); polled once an hour, so only the lead is at stake."""
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")
    add_desk(desk, boxes, inbound_extra="idle = false")
    connection.open_database()


def test_the_app_leads_its_channel_a_poll_beside_it_waits_and_takes_over_when_it_quits(
    team_channel: None,
    desk: Desk,
    standby: list[Standby],
    short_dir: Path,  # noqa: F811
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: leader() == os.getpid(), timeout=30)
        await open_worker(pilot)
        await until(pilot, lambda: row(app, "support")["leader"]["pid"] == os.getpid())
        assert row(app, "support")["led_here"] is True
        assert "this app" in screen_text(app)
        assert f"(pid {os.getpid()})" in screen_text(app)

        standby.append(Standby(desk.home, short_dir))
        poll = standby[0]
        await until(pilot, lambda: poll.passes() >= 3, timeout=60)
        assert leader() == os.getpid()
        assert "now leads" not in poll.said()
        assert poll.process.poll() is None, poll.said()

    drive(scenario, app=real_app(), size=(120, 30))
    # Quitting let go at once: the app's row is gone before anyone else took the lead.
    assert leader() != os.getpid()
    poll = standby[0]
    wait_for(lambda: leader() == poll.process.pid, 15, poll.said)
    assert "this worker now leads support" in poll.said()


def test_a_poll_that_leads_first_keeps_the_lead_and_the_app_says_who_has_it(
    team_channel: None,
    desk: Desk,
    standby: list[Standby],
    short_dir: Path,  # noqa: F811
) -> None:
    standby.append(Standby(desk.home, short_dir))
    poll = standby[0]
    wait_for(lambda: leader() == poll.process.pid, 30, poll.said)
    elsewhere = f"another worker leads it: {os.uname().nodename} (pid {poll.process.pid})"

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert app.engine is not None or app.worker_state == "starting"
        await open_worker(pilot)
        await until(pilot, lambda: elsewhere in screen_text(app), timeout=30)
        assert row(app, "support")["led_here"] is False
        assert row(app, "support")["next_run"] is None  # the other worker's to know
        await pilot.press("n")  # this app does not poll a channel it does not lead
        await until(pilot, lambda: any(elsewhere in n for n in notices(app)))
        assert not any(n == "Polling support now." for n in notices(app))
        assert leader() == poll.process.pid
        assert poll.process.poll() is None, poll.said()

    drive(scenario, app=real_app(), size=(120, 30))
    assert leader() == poll.process.pid
