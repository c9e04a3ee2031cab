"""`deskterm sla add|list|show|remove|notices` and the due times in `conversations` and
`show` (issue 16), as an admin and a script use them."""

from __future__ import annotations

from deskterm.store import connection
from deskterm.store.models import Conversation
from tests.conftest import Desk

FIRST = 1  # the demo's "Where is my order #48213?": open, unassigned


def test_add_list_show_and_remove_policies(desk: Desk, demo_desk: None) -> None:
    said = desk.run(
        "sla",
        "add",
        "office",
        "--first-response",
        "4h",
        "--resolution",
        "2h30m",
        "--hours",
        "mon-fri 09:00-17:00",
        "--timezone",
        "Europe/Berlin",
        "--holiday",
        "2025-12-25",
        "--warn-before",
        "45m",
    ).output
    assert said.startswith("SLA policy office added: office: every conversation; first ")
    desk.run(
        "sla",
        "add",
        "urgent",
        "--priority",
        "high",
        "--first-response",
        "1h",
        "--run-when-pending",
        "--warn-before",
        "0",
    )
    assert [p["name"] for p in desk.json("sla", "list")] == ["office", "urgent"]
    office = desk.json("sla", "show", "office")
    assert office == {
        "name": "office",
        "priority": None,
        "channel": None,
        "type": None,
        "first_response_minutes": 240,
        "resolution_minutes": 150,
        "hours": "mon-fri 09:00-17:00",
        "timezone": "Europe/Berlin",
        "holidays": ["2025-12-25"],
        "pause_when_pending": True,
        "warn_minutes": 45,
        "created_at": office["created_at"],
    }
    urgent = desk.json("sla", "show", "urgent")
    assert (urgent["pause_when_pending"], urgent["warn_minutes"]) == (False, 0)
    # Every open conversation has a due time now, in the JSON and in words.
    rows = desk.json("conversations")
    assert rows and all(r["due_at"] and r["breached"] is False for r in rows)
    assert {r["due_target"] for r in rows} == {"first_response"}
    assert "first response due 20" in desk.run("show", str(FIRST)).output
    assert desk.json("show", str(FIRST))["due_at"] == next(
        r["due_at"] for r in rows if r["id"] == FIRST
    )
    assert desk.run("sla", "remove", "urgent", "--yes").output == "SLA policy urgent removed.\n"
    assert [p["name"] for p in desk.json("sla", "list")] == ["office"]


def test_conversations_sort_by_due_and_mark_breached(desk: Desk, demo_desk: None) -> None:
    desk.run("sla", "add", "all", "--first-response", "8h")
    connection.open_database()
    late = Conversation.get_by_id(FIRST)
    Conversation.update(due_at=late.due_at.replace(year=2001)).where(
        Conversation.id == FIRST
    ).execute()
    connection.close_database()
    rows = desk.json("conversations", "--sort", "due")
    assert rows[0]["id"] == FIRST and rows[0]["breached"] is True
    assert [r["due_at"] for r in rows] == sorted(r["due_at"] for r in rows)
    line = desk.run("conversations", "--sort", "due").output.splitlines()[0]
    assert line.startswith(f"#{FIRST} ") and "[BREACHED, first response due 2001-" in line


def test_the_sla_warning_previews_with_the_conversations_own_clock(
    desk: Desk, demo_desk: None
) -> None:
    """`template preview sla_warning --conversation ID` shows what the worker would mail:
    the stored due time in the policy's zone and its state, greeting whom it goes to."""
    desk.run("sla", "add", "berlin", "--first-response", "8h", "--timezone", "Europe/Berlin")
    connection.open_database()
    late = Conversation.get_by_id(FIRST)
    Conversation.update(due_at=late.due_at.replace(year=2001, month=7, day=2)).where(
        Conversation.id == FIRST
    ).execute()
    connection.close_database()
    said = desk.run("template", "preview", "sla_warning", "--conversation", str(FIRST)).output
    assert said.startswith("Hello the team,")  # unassigned: the team address is told
    assert "is breached: its first response target\nis due at 2001-07-02 " in said
    assert " Europe/Berlin." in said and "2026-12-04" not in said  # not the sample


def test_refusals_say_what_to_do(desk: Desk, demo_desk: None) -> None:
    refused = desk.run("sla", "add", "x", ok=False)
    assert "needs a target; give --first-response, --resolution or both" in refused.stderr
    refused = desk.run("sla", "add", "x", "--first-response", "1d", ok=False)
    assert (
        "'1d' is not a duration; write hours and minutes (90m, 4h, 1h30m), "
        "not days: two 8-hour business days are 16h." in refused.stderr
    )
    refused = desk.run("sla", "add", "x", "--first-response", "1h", "--hours", "weekdays", ok=False)
    assert "'weekdays' is not a day or a range of days; use mon, tue" in refused.stderr
    refused = desk.run(
        "sla", "add", "x", "--first-response", "1h", "--timezone", "Mars/X", ok=False
    )
    assert "Time zone 'Mars/X' is not known" in refused.stderr
    refused = desk.run("sla", "show", "nope", ok=False)
    assert "There is no SLA policy named 'nope'; `deskterm sla list` shows them." in refused.stderr
    assert desk.run("sla", "notices").output == "No SLA notices yet.\n"
