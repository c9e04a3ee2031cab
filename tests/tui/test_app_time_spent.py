"""Time spent measured in a thread and logged with `L` (issue 17), through Pilot, with the
app's monotonic clock under the test's hand (no timed asserts)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.app_session import REFRESH_DELAY
from deskterm.desk import time_spent
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import TimeEntry
from deskterm.widgets.time_clock import TimeClock
from tests.tui.test_app import OPEN_IDS_TOP, drive, screen_text, settle, until
from tests.tui.test_app_team_live import following, team_desk  # noqa: F401 - a fixture


def test_keys_in_a_thread_are_its_time_and_idle_gaps_are_not(demo_desk: None) -> None:
    moment = [1000.0]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.monotonic = lambda: moment[0]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        clock = app.screen.query_one(TimeClock)
        for at in (1010.0, 1040.0, 1100.0, 2000.0, 2005.0):  # 15 minutes away before 2000
            moment[0] = at
            await pilot.press("j")
            clock.tick()
        await pilot.press("escape")
        await settle(pilot)

    drive(scenario)
    [entry] = TimeEntry.select()
    assert entry.conversation_id == OPEN_IDS_TOP[0]
    assert (entry.seconds, entry.source, entry.agent) == (105, "clock", "sam")


def test_the_composer_over_a_thread_counts_once(demo_desk: None) -> None:
    moment = [1000.0]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.monotonic = lambda: moment[0]
        await pilot.press("enter")
        await settle(pilot)
        thread_clock = app.screen.query_one(TimeClock)
        moment[0] = 1020.0
        await pilot.press("r")  # the composer: the thread's clock pauses
        await settle(pilot)
        thread_clock.tick()
        composer_clock = app.screen.query_one(TimeClock)
        moment[0] = 1050.0
        await pilot.press("h", "i")
        composer_clock.tick()
        thread_clock.tick()
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)

    drive(scenario)
    spent = sorted(entry.seconds for entry in TimeEntry.select())
    assert spent == [20, 30]  # the thread's 20 s, the composer's 30 s, nothing twice


def test_L_logs_time_by_hand_and_the_header_shows_it(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("L")
        await pilot.press(*"1h30m call")
        await pilot.press("enter")
        await settle(pilot)
        assert "1h 30m spent" in screen_text(app)

    drive(scenario)
    manual = TimeEntry.get(TimeEntry.source == "manual")
    assert (manual.seconds, manual.note, manual.agent) == (5400, "call", "sam")


def test_an_idle_clock_writes_nothing_so_no_app_reloads_its_list(
    team_desk: str,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each write of the clock is a commit that every app hears (the clock writes in a thread,
    on a connection of its own, so this app hears it too): on PostgreSQL the time_entry
    trigger's NOTIFY, even for an UPDATE that sets the same total; on SQLite data_version,
    which SQLite 3.40 leaves alone when a commit rewrote no page with anything new (measured:
    the SQLite pass holds without the fix too, and guards that). A clock that stands still
    (the agent left the thread open) writes nothing. The save interval is made short here."""
    monkeypatch.setattr(time_spent, "SAVE_EVERY", 0.05)
    saves: list[int] = []
    real_save = TimeClock.save

    def counted(self: TimeClock) -> None:
        saves.append(self.seconds())
        real_save(self)

    monkeypatch.setattr(TimeClock, "save", counted)
    moment = [1000.0]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.monotonic = lambda: moment[0]
        await following(pilot, team_desk)
        await pilot.press("enter")
        await settle(pilot)
        clock = app.screen.query_one(TimeClock)
        moment[0] = 1010.0
        await pilot.press("j")  # ten seconds at work: written once
        await until(pilot, lambda: TimeEntry.get_or_none(seconds=10) is not None)
        # Opening it and the first write were real changes, heard and reloaded; then quiet.
        await pilot.pause(REFRESH_DELAY + 0.5)
        await settle(pilot)
        reloads = app.desk_version
        start = len(saves)
        await until(pilot, lambda: len(saves) >= start + 20)
        # Long enough for the watcher (0.25 s) and a coalesced reload (REFRESH_DELAY) to run.
        await pilot.pause(3 * REFRESH_DELAY + 0.5)
        assert app.desk_version == reloads
        assert set(saves[start:]) == {10}
        assert clock.entry_id is not None

        moment[0] = 1025.0  # back at work: the new total is written, and heard
        await pilot.press("j")
        await until(pilot, lambda: TimeEntry.get_or_none(seconds=25) is not None)
        await until(pilot, lambda: app.desk_version > reloads)

    drive(scenario)
    [entry] = TimeEntry.select()
    assert entry.seconds == 25
