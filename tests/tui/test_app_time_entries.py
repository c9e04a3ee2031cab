"""A conversation's time entries from the thread (`E`, issue 17): listed at 80x24, corrected
in a form filled with the entry, removed after a question, and the thread's total follows."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from deskterm.app import DeskApp
from deskterm.desk import time_spent
from deskterm.screens.dialog import ConfirmRemove
from deskterm.screens.thread import ThreadScreen
from deskterm.screens.time_entries import TimeEntriesScreen, TimeEntryForm
from deskterm.store.models import Agent, TimeEntry
from deskterm.widgets.time_clock import TimeClock
from tests.tui.test_app import OPEN_IDS_TOP, drive, notices, screen_text, settle

TOP = OPEN_IDS_TOP[0]


def manual(agent: str) -> TimeEntry:
    return TimeEntry.get(TimeEntry.source == "manual", TimeEntry.agent == agent)


async def to_entries(pilot: Pilot[None]) -> TimeEntriesScreen:
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ThreadScreen)
    await pilot.press("E")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TimeEntriesScreen)
    return screen


def test_entries_are_listed_corrected_and_removed_and_the_thread_total_follows(
    demo_desk: None,
) -> None:
    time_spent.add(TOP, 600, note="read\x1b[31m the [b]logs[/b]", agent="kim")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("L", *"15m call", "enter")
        await settle(pilot)
        assert "25m spent" in screen_text(app)
        await pilot.press("E")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TimeEntriesScreen)
        text = screen_text(app)
        assert "kim" in text and "logged" in text and "read[31m the [b]logs[/b]" in text
        assert "25m in all" in text
        assert screen.query_one(DataTable).row_count == 2

        await pilot.press("G", "e")  # sam's own entry, the newer
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TimeEntryForm)
        length, note = (form.query_one(f"#{name}", Input) for name in ("length", "note"))
        assert (length.value, note.value) == ("15m", "call")
        length.value = "45m"
        note.value = "two calls"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and "55m in all" in screen_text(app)
        assert screen.current is not None and screen.current["note"] == "two calls"

        await pilot.press("g", "d")  # kim's entry: the demo names no admin, so sam may
        await settle(pilot)
        assert isinstance(app.screen, ConfirmRemove)
        await pilot.press("y")
        await settle(pilot)
        assert screen.query_one(DataTable).row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen) and "45m spent" in screen_text(app)

    drive(scenario)
    assert (manual("sam").seconds, manual("sam").note) == (2700, "two calls")
    assert not TimeEntry.select().where(TimeEntry.agent == "kim").exists()


def test_another_agent_s_entry_is_refused_in_one_sentence_and_kept(demo_desk: None) -> None:
    Agent.update(admin=True).where(Agent.handle == "kim").execute()
    time_spent.add(TOP, 600, note="kim's", agent="kim")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await to_entries(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TimeEntryForm)
        form.query_one("#length", Input).value = "1m"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form and "only they or an admin may change it" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert any("only they or an admin may remove it" in said for said in notices(app))
        assert screen.query_one(DataTable).row_count == 1

    drive(scenario)
    assert manual("kim").seconds == 600


def test_a_conversation_without_time_says_how_to_log_some(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await to_entries(pilot)
        assert "No time spent on it yet" in screen_text(app)
        await pilot.press("e")
        await settle(pilot)
        assert any("press Esc, then L" in said for said in notices(app))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario)


def test_a_measured_entry_corrected_over_its_open_thread_keeps_the_correction(
    demo_desk: None,
) -> None:
    """The thread's clock writes its stretch again after the agent corrected it from `E`:
    it adds what it counted since, and the correction stands."""
    moment = [1000.0]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.monotonic = lambda: moment[0]
        await pilot.press("enter")
        await settle(pilot)
        clock = app.screen.query_one(TimeClock)
        moment[0] = 1010.0
        await pilot.press("j")
        clock.tick()
        clock.save()
        await settle(pilot)
        assert TimeEntry.get(TimeEntry.source == "clock").seconds == 10
        await pilot.press("E")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#length", Input).value = "1m"
        await pilot.press("enter", "escape")
        await settle(pilot)
        moment[0] = 1030.0  # twenty more seconds at work in the thread
        await pilot.press("j")
        clock.tick()
        clock.save()
        await settle(pilot)

    drive(scenario)
    [entry] = TimeEntry.select()
    assert (entry.source, entry.seconds) == ("clock", 80)


def test_a_note_only_correction_keeps_the_entry_s_seconds(demo_desk: None) -> None:
    """The form shows 5445 s as a rounded length; saving a new note alone leaves the
    length as it was, to the second."""
    time_spent.add(TOP, 5445, note="first", agent="sam")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await to_entries(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TimeEntryForm)
        form.query_one("#note", Input).value = "second"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen

    drive(scenario)
    assert (manual("sam").seconds, manual("sam").note) == (5445, "second")
