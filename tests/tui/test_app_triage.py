"""Triage keys as an agent presses them: `s` picks a status from a menu, the conversation just
triaged stays under the cursor until the agent moves, and `u` undoes any triage change.

Issue 14, bug 2: in the Open tab `s` made #4 pending, it left the tab, the cursor slid onto
the next conversation and the next `s` changed that other customer's conversation.
"""

from __future__ import annotations

from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk import triage
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.screens.triage_prompts import StatusMenu
from deskterm.store.models import Conversation
from tests.tui.test_app import (
    OPEN_IDS_TOP,
    drive,
    notices,
    screen_text,
    settle,
    status_of,
    the_list,
)

FIRST, SECOND = OPEN_IDS_TOP[0], OPEN_IDS_TOP[1]  # #4 and #12, top of the Open tab


def test_a_second_s_acts_on_the_same_conversation_not_the_next(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("s", "p")
        await settle(pilot)
        assert status_of(FIRST) == "pending"
        listing = the_list(app)
        assert listing.current_id == FIRST  # still in view, under the cursor
        assert listing.kept == FIRST  # marked as no longer matching Open
        assert "1 Open 16" in screen_text(app)
        await pilot.press("s", "r")
        await settle(pilot)
        assert status_of(FIRST) == "resolved"
        assert status_of(SECOND) == "open"  # the other customer's conversation is untouched
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


def test_moving_on_lets_the_triaged_conversation_go(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("s", "c")
        await settle(pilot)
        listing = the_list(app)
        assert listing.ids[:2] == [FIRST, SECOND]
        await pilot.press("j")
        await settle(pilot)
        assert listing.current_id == SECOND  # the next one, as the agent meant
        assert FIRST not in listing.ids and listing.kept is None
        assert listing.ids[:4] == OPEN_IDS_TOP[1:]

    drive(scenario)


def test_the_menu_picks_each_status_and_esc_cancels(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, StatusMenu)
        text = screen_text(app)
        for line in ("o  open (now)", "p  pending", "r  resolved", "c  closed", "Esc cancels"):
            assert line in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen) and status_of(FIRST) == "open"
        for key, status in (("p", "pending"), ("r", "resolved"), ("c", "closed"), ("o", "open")):
            await pilot.press("s", key)
            await settle(pilot)
            assert status_of(FIRST) == status
            assert notices(app)[-1] == f"#{FIRST} is now {status}."
            assert the_list(app).current_id == FIRST

    drive(scenario)


def test_u_undoes_each_kind_of_triage_change(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("s", "r")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("a", *"kim", "enter")
        await settle(pilot)
        await pilot.press("T", *"+vip", "enter")
        await settle(pilot)
        row = Conversation.get_by_id(FIRST)
        assert (row.status, row.priority, row.assignee) == ("resolved", "low", "kim")
        assert triage.tags(FIRST) == ["vip"]
        for said in (
            "is untagged again.",
            "is assigned to sam again.",
            "is high priority again.",
            "is open again.",
        ):
            await pilot.press("u")
            await settle(pilot)
            assert notices(app)[-1] == f"Undone: #{FIRST} {said}"
            assert the_list(app).current_id == FIRST
        row = Conversation.get_by_id(FIRST)
        assert (row.status, row.priority, row.assignee) == ("open", "high", "sam")
        assert triage.tags(FIRST) == []
        assert the_list(app).kept is None  # open again: it matches the tab
        await pilot.press("u")
        await settle(pilot)
        assert notices(app)[-1] == "There is no triage change to undo."

    drive(scenario)


def test_the_thread_picks_a_status_and_undoes_it(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("s", "c")
        await settle(pilot)
        assert status_of(FIRST) == "closed"
        assert screen_text(app).count("closed ·") == 1
        await pilot.press("u")
        await settle(pilot)
        assert status_of(FIRST) == "open"
        assert notices(app)[-1] == f"Undone: #{FIRST} is open again."
        assert "open · high priority" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert the_list(app).current_id == FIRST

    drive(scenario)


def test_triaged_in_the_thread_it_is_still_under_the_cursor_back_in_the_list(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s", "r", "escape")
        await settle(pilot)
        listing = the_list(app)
        assert (listing.current_id, listing.kept) == (FIRST, FIRST)
        await pilot.press("s", "c")
        await settle(pilot)
        assert (status_of(FIRST), status_of(SECOND)) == ("closed", "open")

    drive(scenario)


def test_undo_leaves_a_conversation_changed_since_alone(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("s", "p")
        await settle(pilot)
        triage.set_status(FIRST, "closed")  # someone else, meanwhile
        await pilot.press("u")
        await settle(pilot)
        assert status_of(FIRST) == "closed"
        assert notices(app)[-1] == (
            f"#{FIRST} changed since (closed now, not pending); nothing was undone."
        )

    drive(scenario)


def test_n_marks_unread_in_the_thread_and_u_undoes_it(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")  # opening reads it
        await settle(pilot)
        assert not Conversation.get_by_id(FIRST).unread
        await pilot.press("N")
        await settle(pilot)
        assert Conversation.get_by_id(FIRST).unread
        assert notices(app)[-1] == f"#{FIRST} is now unread."
        await pilot.press("escape", "N")  # and read again, from the list
        await settle(pilot)
        assert not Conversation.get_by_id(FIRST).unread
        await pilot.press("u")
        await settle(pilot)
        assert Conversation.get_by_id(FIRST).unread
        assert notices(app)[-1] == f"Undone: #{FIRST} is unread again."

    drive(scenario)
