"""Another agent's changes on this agent's screen (issue 15): nothing bumps the app by hand
here; what another connection writes reaches the app through `deskterm.store.live` alone
(LISTEN/NOTIFY on PostgreSQL, data_version on SQLite), and the reader keeps their place."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Static

from deskterm.app import DeskApp
from deskterm.demo import desk as demo
from deskterm.desk import triage
from deskterm.store import connection, live
from deskterm.widgets.message_view import NEW_MARK, MessageView
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


def as_another_agent(work: Callable[[], object]) -> None:
    """A write on a connection of its own (peewee connects per thread), as another agent's
    desk or the CLI would make it; the app is told nothing."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
        finally:
            connection.close_database()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not failed, failed


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

        as_another_agent(deliver_to_dashboard)
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

        as_another_agent(lambda: triage.set_status(first, "pending"))  # leaves the open tab
        await until(pilot, lambda: first not in rows.ids)
        assert rows.current_id == third

        as_another_agent(lambda: deliver("Printer queue stuck since Monday"))  # a row above
        await until(pilot, lambda: "Printer queue stuck" in screen_text(app))
        assert rows.ids[1:3] == [second, third]  # one gone above it, one come on top
        assert rows.current_id == third

        as_another_agent(lambda: triage.set_priority(third, "high"))
        await until(pilot, lambda: (rows.row(rows.cursor) or {}).get("priority") == "high")
        assert rows.current_id == third

    drive(scenario)


def test_an_assignment_by_another_agent_shows_in_the_open_thread(team_desk: str) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await following(pilot, team_desk)
        await open_thread(pilot, DASHBOARD)
        meta = app.screen.query_one("#meta", Static)
        assert "assigned to sam" in str(meta.render())
        as_another_agent(lambda: triage.assign(DASHBOARD, "kim"))
        await until(pilot, lambda: "assigned to kim" in str(meta.render()))

    drive(scenario)
