"""Time spent measured in a thread and logged with `L` (issue 17), through Pilot, with the
app's monotonic clock under the test's hand (no timed asserts)."""

from __future__ import annotations

from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import TimeEntry
from deskterm.widgets.time_clock import TimeClock
from tests.tui.test_app import OPEN_IDS_TOP, drive, screen_text, settle


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
