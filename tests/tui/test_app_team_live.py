"""Another agent's changes on this agent's screen (issue 15): nothing bumps the app by hand
here; what another connection writes reaches the app through `deskterm.store.live` alone
(LISTEN/NOTIFY on PostgreSQL, data_version on SQLite), and the reader keeps their place."""

from __future__ import annotations

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Static

from deskterm.app import DeskApp
from deskterm.app_session import REFRESH_DELAY
from deskterm.demo import desk as demo
from deskterm.desk import presence, triage
from deskterm.store import live
from deskterm.store.models import Agent
from deskterm.widgets.message_view import NEW_MARK, MessageView
from tests.engine.test_live import in_other_thread
from tests.tui.test_app import OPEN_IDS_TOP, deliver, drive, screen_text, settle, the_list, until
from tests.tui.test_app_thread_moves import DASHBOARD, deliver_to_dashboard, open_thread


@pytest.fixture(params=["postgresql", "sqlite"])
def team_desk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo desk on a fresh PostgreSQL database, or in the embedded SQLite file; this
    app is the demo's agent sam."""
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    if request.param == "postgresql":
        request.getfixturevalue("pg")
    demo.build_demo(now=demo.ANCHOR)
    return str(request.param)


async def following(pilot: Pilot[None], backend: str) -> None:
    """Wait until the app hears the desk (a PostgreSQL listener has its LISTEN in place)."""
    app = pilot.app
    assert isinstance(app, DeskApp)
    if backend == "postgresql":
        assert isinstance(app.live, live.PgListener)
        await until(pilot, app.live.listening.is_set)
    else:
        assert isinstance(app.live, live.SqliteWatcher)
    await settle(pilot)


def test_a_message_from_elsewhere_shows_in_the_open_thread_marked_new_and_the_view_stays(
    team_desk: str,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await following(pilot, team_desk)
        await open_thread(pilot, DASHBOARD)
        box = app.screen.query_one("#messages", VerticalScroll)
        box.scroll_to(y=3, animate=False)
        await pilot.pause()
        assert box.scroll_y == 3
        views = list(box.query(MessageView))
        assert len(views) == 4 and not any(v.new for v in views)

        in_other_thread(deliver_to_dashboard)
        await until(pilot, lambda: len(box.query(MessageView)) == 5)
        await settle(pilot)
        arrived = list(box.query(MessageView))[-1]
        assert "It times out again." in str(arrived.render())
        assert arrived.new and str(arrived.render()).startswith(NEW_MARK)
        assert box.scroll_y == 3  # the reader's place is kept
        assert list(box.query(MessageView))[:4] == views  # the same widgets, not rebuilt
        assert app.screen.query_one("#news", Static).display

        await pilot.press("G")  # the reader moves to it: the mark goes
        await pilot.pause()
        assert not arrived.new and NEW_MARK not in str(arrived.render())

    drive(scenario)


def test_another_agents_triage_and_new_mail_show_in_the_list_under_a_steady_cursor(
    team_desk: str,
) -> None:
    first, second, third = OPEN_IDS_TOP[:3]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await following(pilot, team_desk)
        rows = the_list(app)
        rows.cursor = rows.ids.index(third)
        await pilot.pause()

        in_other_thread(lambda: triage.set_status(first, "pending"))  # leaves the open tab
        await until(pilot, lambda: first not in rows.ids)
        assert rows.current_id == third

        in_other_thread(lambda: deliver("Printer queue stuck since Monday"))  # a row above
        await until(pilot, lambda: "Printer queue" in screen_text(app))  # the list cuts it
        assert rows.ids[1:3] == [second, third]  # one gone above it, one come on top
        assert rows.current_id == third

        in_other_thread(lambda: triage.set_priority(third, "high"))
        await until(pilot, lambda: (rows.row(rows.cursor) or {}).get("priority") == "high")
        assert rows.current_id == third

    drive(scenario)


def test_an_assignment_by_another_agent_shows_in_the_open_thread(team_desk: str) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await following(pilot, team_desk)
        await open_thread(pilot, DASHBOARD)
        meta = app.screen.query_one("#meta", Static)
        assert "assigned to sam" in str(meta.render())
        in_other_thread(lambda: triage.assign(DASHBOARD, "kim"))
        await until(pilot, lambda: "assigned to kim" in str(meta.render()))

    drive(scenario)


def test_presence_beats_leave_the_list_alone_and_a_real_change_still_reloads_it(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: presence lives in its own attached file (store/presence_file.py), so neither
    this app's beats nor another app's move the desk's data_version, which the watcher
    takes as "the desk changed". The heartbeat is made short here to beat many times."""
    monkeypatch.setattr(presence, "HEARTBEAT", 0.05)
    beats: list[int] = []
    real_beat = presence.Tracker.beat

    def counted(self: presence.Tracker, conversation_id: int, now: object = None) -> object:
        beats.append(conversation_id)
        return real_beat(self, conversation_id)

    monkeypatch.setattr(presence.Tracker, "beat", counted)
    kim = Agent.get(Agent.handle == "kim")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await following(pilot, "sqlite")
        await open_thread(pilot, DASHBOARD)
        # Opening it marked it read: a real write, heard and reloaded once; then quiet.
        await pilot.pause(REFRESH_DELAY + 0.5)
        await settle(pilot)
        reloads = app.desk_version
        start = len(beats)
        await until(pilot, lambda: len(beats) >= start + 10)
        # Another agent's app has a conversation open too, and beats.
        in_other_thread(lambda: presence.enter(DASHBOARD, "viewing", kim, "elsewhere:1"))
        in_other_thread(lambda: presence.refresh("elsewhere:1"))
        await until(pilot, lambda: "Kim Lee is viewing" in screen_text(app))
        # Long enough for the watcher (0.25 s) and a coalesced reload (REFRESH_DELAY) to run.
        await pilot.pause(3 * REFRESH_DELAY + 0.5)
        assert app.desk_version == reloads

        in_other_thread(lambda: triage.set_priority(OPEN_IDS_TOP[1], "low"))
        await until(pilot, lambda: app.desk_version > reloads)

    drive(scenario)
