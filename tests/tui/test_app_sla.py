"""The list's SLA column (issue 16): absent on a desk without policies; with them, when each
conversation is due, breached and due-soon ones marked in text ("!", "~") and colour, and
`o` sorts by due time."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk import list_index, sla
from deskterm.desk.sla_policies import Terms
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
        assert the_list(app).due is False
        await pilot.press("o", "o", "o")  # newest, waiting, priority, and back: no "due"
        await settle(pilot)
        assert the_list(app).ids[:5] == OPEN_IDS_TOP

    drive(scenario)


def test_due_column_marks_breached_and_due_soon_and_o_sorts_by_due(demo_desk: None) -> None:
    _with_policy()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        assert listing.due is True
        header = screen_text(app).splitlines()[1]
        assert header.rstrip() == header_text(79, due=True).rstrip()  # 80 minus the gutter
        assert " due  age " in header
        assert _line_of(app, BREACHED).split()[-4] == "!2h"  # two hours late
        assert _line_of(app, SOON).split()[-4] == "~20m"  # inside the warning time
        assert _line_of(app, LATER).split()[-4] == "3h"
        for _ in range(3):  # newest -> oldest waiting -> priority -> due first
            await pilot.press("o")
            await settle(pilot)
        assert "due first" in screen_text(app).splitlines()[0]
        assert listing.ids == list_index.conversation_ids("open", order="due")
        assert listing.ids[:3] == [BREACHED, SOON, LATER]
        assert listing.cursor == listing.ids.index(OPEN_IDS_TOP[0])  # it stayed on its row

    drive(scenario)
