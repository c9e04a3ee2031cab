"""The list's SLA column (issue 16): absent on a desk without policies; with them, when each
conversation is due, breached and due-soon ones marked in text ("!", "~") and colour, and
`o` sorts by due time."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.pilot import Pilot
from textual.widgets import Static

from deskterm.app import DeskApp
from deskterm.desk import list_index, sla
from deskterm.desk.sla_policies import Terms
from deskterm.screens.thread import ThreadScreen
from deskterm.store import connection
from deskterm.store.models import Conversation
from deskterm.widgets.list_columns import header_text
from tests.tui.test_app import NOW, OPEN_IDS_TOP, drive, screen_text, settle, the_list

BREACHED, SOON, LATER = OPEN_IDS_TOP[2], OPEN_IDS_TOP[3], OPEN_IDS_TOP[4]


def _due(conversation_id: int, due: timedelta, warn: timedelta | None = None) -> None:
    moment = NOW.replace(tzinfo=None) if isinstance(NOW, datetime) else NOW
    Conversation.update(due_at=moment + due, warn_at=None if warn is None else moment + warn).where(
        Conversation.id == conversation_id
    ).execute()


def _with_policy() -> None:
    """A policy through the engine (the column appears), and three due times set against
    the demo's fixed moment: two hours late, due in 20 minutes (warned), due in 3 hours."""
    connection.open_database()
    sla.add_policy("standard", Terms(first_response="8h"))
    Conversation.update(due_at=None, warn_at=None).execute()
    _due(BREACHED, -timedelta(hours=2))
    _due(SOON, timedelta(minutes=20), warn=-timedelta(minutes=10))
    _due(LATER, timedelta(hours=3), warn=timedelta(hours=2, minutes=30))
    connection.close_database()


def _line_of(app: DeskApp, conversation_id: int) -> str:
    for line in screen_text(app).splitlines()[2:]:  # below the tabs and the column titles
        if line.lstrip(" ●").startswith(f"{conversation_id} "):
            return line
    raise AssertionError(f"#{conversation_id} is not on the screen")


def test_no_due_column_without_policies(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert " due " not in screen_text(app)
        assert the_list(app).extras.due is False
        await pilot.press("o", "o", "o")  # newest, waiting, priority, and back: no "due"
        await settle(pilot)
        assert the_list(app).ids[:5] == OPEN_IDS_TOP

    drive(scenario)


def test_due_column_marks_breached_and_due_soon_and_o_sorts_by_due(demo_desk: None) -> None:
    _with_policy()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        assert listing.extras.due is True
        assert listing.extras.channel is False  # the demo desk has one channel
        header = screen_text(app).splitlines()[1]
        assert header.rstrip() == header_text(79, listing.extras).rstrip()  # 80 minus the gutter
        assert " due  age " in header
        assert _line_of(app, BREACHED).split()[-3] == "!2h"  # two hours late
        assert _line_of(app, SOON).split()[-3] == "~20m"  # inside the warning time
        assert _line_of(app, LATER).split()[-3] == "3h"
        for _ in range(3):  # newest -> oldest waiting -> priority -> due first
            await pilot.press("o")
            await settle(pilot)
        assert "due first" in screen_text(app).splitlines()[0]
        assert listing.ids == list_index.conversation_ids("open", order="due")
        assert listing.ids[:3] == [BREACHED, SOON, LATER]
        assert listing.cursor == listing.ids.index(OPEN_IDS_TOP[0])  # it stayed on its row

    drive(scenario)


def _due_box(app: DeskApp) -> Static:
    return app.screen.query_one("#due", Static)


def test_the_thread_says_when_its_target_is_due_and_follows_status_and_priority(
    demo_desk: None,
) -> None:
    """Under the header, the running target, its due time (the policy's zone) and the list's
    mark; a status or priority set from the thread moves it (the engine's clock), and a
    conversation without a running target has no such line."""
    connection.open_database()
    sla.add_policy("low", Terms(priority="low", resolution="48h"))
    connection.close_database()
    _with_policy()
    breached_at = f"{NOW - timedelta(hours=2):%Y-%m-%d %H:%M} UTC"
    soon_at = f"{NOW + timedelta(minutes=20):%Y-%m-%d %H:%M} UTC"

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("j", "j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen) and app.screen.conversation_id == BREACHED
        line = f"SLA first response due {breached_at} (!2h, breached)"
        assert line in screen_text(app)
        assert _due_box(app).has_class("-breached")
        await pilot.press("J")  # the next in the list: due in 20 minutes, warned
        await settle(pilot)
        assert f"SLA first response due {soon_at} (~20m, due soon)" in screen_text(app)
        assert _due_box(app).has_class("-soon") and not _due_box(app).has_class("-breached")
        await pilot.press("s", "p")  # pending: the policy stops the clock
        await settle(pilot)
        assert "SLA " not in screen_text(app) and _due_box(app).has_class("-none")
        await pilot.press("s", "o")  # open again: the engine sets a due time anew
        await settle(pilot)
        reopened = str(_due_box(app).render())
        assert reopened.startswith("SLA first response due ") and reopened in screen_text(app)
        assert Conversation.get_by_id(SOON).priority == "normal"
        await pilot.press("P", "P")  # normal -> high -> low: the low policy's target runs
        await settle(pilot)
        assert str(_due_box(app).render()).startswith("SLA resolution due ")

    drive(scenario)
