"""The worker screen and the status bar: channel states, pause and resume, poll now.

On the demo desk the app runs no worker (its channel is never polled), which is enough for
pausing, which is stored in the database. Polling now, IDLE and new conversations arriving
without a restart need the real worker against the suite's Dovecot and Postfix.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from deskterm.app import DeskApp
from deskterm.channels import registry as channels
from deskterm.demo import desk as demo
from deskterm.engine.worker import Worker
from deskterm.screens.worker_status import WorkerStatusScreen, next_poll_text
from deskterm.store import connection, db
from deskterm.store.models import Channel, Conversation, JobRun
from deskterm.widgets.status_bar import polled_ago
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail
from tests.tui.test_app import NOW, drive, make_app, notices, screen_text, settle, the_list, until

SUPPORT = "support@desk.test"


def active_demo() -> None:
    Channel.update(status="active").where(Channel.name == demo.CHANNEL).execute()


def worker_screen(app: DeskApp) -> WorkerStatusScreen:
    assert isinstance(app.screen, WorkerStatusScreen), type(app.screen)
    return app.screen


async def open_worker(pilot: Pilot[None]) -> WorkerStatusScreen:
    await pilot.press("W")
    await settle(pilot)
    return worker_screen(pilot.app)  # type: ignore[arg-type]


def row(app: DeskApp, name: str) -> dict:
    return next(r for r in worker_screen(app).rows if r["name"] == name)


# --- pure bits ------------------------------------------------------------------------------


def test_ages_and_countdowns_read_naturally() -> None:
    assert polled_ago(None, lambda: NOW) == ""
    assert polled_ago(NOW - timedelta(seconds=42), lambda: NOW) == "polled 42 s ago"
    assert polled_ago(NOW - timedelta(minutes=5), lambda: NOW) == "polled 5 min ago"
    assert polled_ago(NOW + timedelta(seconds=3), lambda: NOW) == "polled 0 s ago"
    assert next_poll_text(None) == "—"
    assert next_poll_text(0.2) == "now"
    assert next_poll_text(42.4) == "in 42 s"
    assert next_poll_text(600) == "in 10 min"


def test_poll_now_during_a_poll_is_not_lost(demo_desk: None, monkeypatch) -> None:
    """IDLE may see mail arrive while a poll runs (after its search): that poll_now() must
    make the channel due again at once, not after the next interval."""
    worker = Worker()
    channel = channels.get("demo")
    monkeypatch.setattr(Worker, "_sync", lambda self, ch, counts: self.poll_now(ch.id))
    worker.poll(channel)
    assert worker.next_run(channel.id) == 0
    monkeypatch.setattr(Worker, "_sync", lambda self, ch, counts: None)
    worker.poll(channel)
    assert worker.next_run(channel.id) > 30


# --- demo desk -----------------------------------------------------------------------------


def test_p_pauses_and_resumes_a_channel(demo_desk: None) -> None:
    active_demo()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_worker(pilot)
        assert row(app, "demo")["state"] == "new"
        assert "demo: not polled yet" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        await until(pilot, lambda: row(app, "demo")["state"] == "paused")
        assert Channel.get(Channel.name == "demo").paused is True
        assert "demo: polling is paused for this channel" in screen_text(app)
        assert "demo is paused: it is not polled until you resume it (p)." in notices(app)
        await pilot.press("n")  # a paused channel is not polled, and the app says why
        await settle(pilot)
        assert "No worker runs in this desk, so there is nothing to poll now." in notices(app)
        await pilot.press("p")
        await settle(pilot)
        await until(pilot, lambda: row(app, "demo")["state"] == "new")
        assert "demo is resumed." in notices(app)

    drive(scenario)
    assert Channel.get(Channel.name == "demo").paused is False


def test_recent_runs_show_counts_and_errors(demo_desk: None) -> None:
    channel = channels.get("demo")
    JobRun.create(channel=channel, fetched=3, ingested=2, skipped=1, finished_at=db.utcnow())
    JobRun.create(
        channel=channel,
        finished_at=db.utcnow(),
        failed=1,
        error="The IMAP server refused [@click=app.quit] the login.\x1b]52;c;AAAA\x07",
    )

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_worker(pilot)
        runs = worker_screen(app).query_one("#runs", DataTable)
        assert runs.row_count == 2
        lines = screen_text(app).splitlines()
        newest, older = lines[6].split(), lines[7].split()
        assert newest[2:] == [
            "demo",
            "0",
            "0",
            "0",
            "1",
            "The",
            "IMAP",
            "server",
            "refused",
            "[@click=app.quit]",
            "the",
            "login.]52;c;AAAA",
        ]
        assert older[2:] == ["demo", "3", "2", "1", "0", "ok"]
        assert app.is_running  # the error was shown as text, its markup and escape inert

    drive(scenario, size=(120, 40))


# --- the real worker ---------------------------------------------------------------------------


def real_app() -> DeskApp:
    """The app as `deskterm` starts it: its own worker, the real clock."""
    return DeskApp(run_worker=True, refresh_seconds=0.5)


@pytest.mark.mailserver
def test_poll_now_fetches_new_mail_and_it_appears_without_a_restart(
    desk: Desk, mail_servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail_servers.clear(SUPPORT)
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")  # only "poll now" polls again
    toml = channel_toml(mail_servers, inbound_extra="idle = false")
    desk.add_channel(toml, inbound=mail_servers.users[SUPPORT])
    connection.open_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: JobRun.select().count() == 1, timeout=30)
        await until(pilot, lambda: "polled" in screen_text(app), timeout=10)
        assert "worker on" in screen_text(app)
        mail_servers.deliver(make_mail("Arrives after the first poll"), SUPPORT)
        mail_servers.wait_for_messages(SUPPORT, 1)
        await open_worker(pilot)
        await until(pilot, lambda: row(app, "support")["state"] == "ok")
        assert str(row(app, "support")["next_run"]) != "None"
        assert row(app, "support")["next_run"] > 3000  # type: ignore[operator]
        await pilot.press("n")
        await until(pilot, lambda: JobRun.select().count() == 2, timeout=30)
        assert "Polling support now." in notices(app)
        await until(pilot, lambda: len(worker_screen(app).runs) == 2, timeout=10)
        await pilot.press("escape")
        await until(pilot, lambda: the_list(app).ids, timeout=10)
        await until(pilot, lambda: "Arrives after th" in screen_text(app))  # the list cuts it

    drive(scenario, app=real_app())
    assert Conversation.get().subject == "Arrives after the first poll"


@pytest.mark.mailserver
def test_idle_shows_connected_and_brings_mail_in(
    desk: Desk, mail_servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail_servers.clear(SUPPORT)
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")
    desk.add_channel(channel_toml(mail_servers), inbound=mail_servers.users[SUPPORT])
    connection.open_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_worker(pilot)
        await until(pilot, lambda: row(app, "support")["idle"] == "connected", timeout=30)
        await until(pilot, lambda: "connected" in screen_text(app), timeout=10)
        mail_servers.deliver(make_mail("Arrives while idling"), SUPPORT)
        await until(pilot, lambda: Conversation.select().count() == 1, timeout=30)
        # Paused: the worker lets go of the IDLE session too.
        await pilot.press("p")
        await until(pilot, lambda: row(app, "support")["state"] == "paused", timeout=10)
        await until(pilot, lambda: row(app, "support")["idle"] == "", timeout=30)

    drive(scenario, app=real_app())


# --- what it looks like ------------------------------------------------------------------------


def test_worker_status_snapshot(snap_compare, demo_desk: None) -> None:
    active_demo()
    channel = channels.get("demo")
    Channel.update(paused=True).where(Channel.id == channel.id).execute()
    JobRun.create(
        channel=channel,
        started_at=NOW - timedelta(minutes=5),
        finished_at=NOW - timedelta(minutes=5),
        fetched=3,
        ingested=2,
        skipped=1,
    )
    JobRun.create(
        channel=channel,
        started_at=NOW,
        finished_at=NOW,
        failed=1,
        error="The IMAP server imap.acme-demo.invalid:993 did not answer in 30 s.",
    )

    async def opened(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=opened)
