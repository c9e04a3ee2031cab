"""Triage from the CLI: `deskterm status`, `assign` and `tag`, through desk/triage.py, each
with `--json` printing the conversation's new state and one sentence when refused (issue 14)."""

from __future__ import annotations

import pytest

from deskterm.desk import triage
from deskterm.store import connection
from deskterm.store.models import Conversation
from tests.conftest import Desk

FIRST = 1  # the demo's "Where is my order #48213?": open, normal, unassigned, unread
STATUSES = "open, pending, resolved, closed"


@pytest.fixture(autouse=True)
def _closed(demo_desk: None) -> None:
    connection.close_database()  # the commands open the desk themselves


def test_status_sets_each_status_and_says_so(desk: Desk) -> None:
    for status in ("pending", "resolved", "closed", "open"):
        assert desk.run("status", str(FIRST), status).output == f"#{FIRST} is now {status}.\n"
        listed = desk.json("conversations", "--status", status)
        assert FIRST in [row["id"] for row in listed]
    state = desk.json("status", str(FIRST), "resolved")
    assert state == {
        "id": FIRST,
        "status": "resolved",
        "priority": "normal",
        "assignee": None,
        "unread": True,
        "tags": [],
    }


def test_assign_and_unassign(desk: Desk) -> None:
    assert desk.run("assign", str(FIRST), "kim").output == f"#{FIRST} is now assigned to kim.\n"
    assert desk.json("assign", str(FIRST), "sam@acme.example")["assignee"] == "sam"
    assert desk.run("assign", str(FIRST), "--nobody").output == f"#{FIRST} is now unassigned.\n"
    desk.run("assign", str(FIRST), "kim")
    assert desk.json("assign", str(FIRST), "")["assignee"] is None
    connection.open_database()
    assert Conversation.get_by_id(FIRST).assignee is None


def test_tag_adds_and_removes_with_plus_and_minus(desk: Desk) -> None:
    assert desk.run("tag", str(FIRST), "+vip", "billing").output == (
        f"#{FIRST} is now tagged billing, vip.\n"
    )
    state = desk.json("tag", str(FIRST), "-billing", "+urgent")
    assert state["tags"] == ["urgent", "vip"]
    assert desk.run("tag", str(FIRST)).output == f"#{FIRST} is tagged urgent, vip.\n"
    assert desk.run("tag", str(FIRST), "-urgent", "-vip").output == f"#{FIRST} is now untagged.\n"
    connection.open_database()
    assert triage.tags(FIRST) == []


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ("status", "1", "snoozed"),
            "Status 'snoozed' is not known; use open, pending, resolved, closed.",
        ),
        (("status", "999", "open"), "There is no conversation #999."),
        (("assign", "1"), "Name the agent, or pass --nobody (or an empty AGENT) to unassign."),
        (("assign", "1", "kim", "--nobody"), "Give either an agent or --nobody, not both."),
        (("assign", "999", "kim"), "There is no conversation #999."),
        (("tag", "1", "+"), "'+' names no tag; write +tag to add or -tag to remove."),
        (("tag", "999", "+vip"), "There is no conversation #999."),
    ],
)
def test_refusals_are_one_sentence(desk: Desk, args: tuple[str, ...], sentence: str) -> None:
    result = desk.run(*args, ok=False)
    assert result.exit_code == 1
    assert result.stderr == f"deskterm: {sentence}\n"
    assert result.stdout == ""
    connection.open_database()
    row = Conversation.get_by_id(FIRST)
    assert (row.status, row.assignee, triage.tags(FIRST)) == ("open", None, [])
