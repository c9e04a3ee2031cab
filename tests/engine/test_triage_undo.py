"""Undo of triage changes: a `History` remembers what each change replaced, `triage.undo`
puts it back, newest first, for every field triage writes (desk/undo.py)."""

from __future__ import annotations

import pytest

from deskterm.desk import triage
from deskterm.desk.undo import History
from deskterm.errors import ConfigError
from deskterm.store.models import Conversation

FIRST = 1  # "Where is my order #48213?": open, normal, unassigned, unread

pytestmark = pytest.mark.usefixtures("demo_desk")


def state() -> tuple[object, ...]:
    row = Conversation.get_by_id(FIRST)
    return (row.status, row.priority, row.assignee, row.unread, tuple(triage.tags(FIRST)))


def test_every_kind_of_change_is_undone_newest_first() -> None:
    history = History()
    before = state()
    triage.set_status(FIRST, "resolved", history=history)
    triage.cycle_priority(FIRST, history=history)
    triage.assign(FIRST, "kim", history=history)
    triage.change_tags(FIRST, "+vip +billing", history=history)
    triage.mark_read(FIRST, history=history)
    assert state() == ("resolved", "high", "kim", False, ("billing", "vip"))
    said = [triage.undo(history) for _ in range(5)]
    assert said == [
        "#1 is unread again.",
        "#1 is untagged again.",
        "#1 is unassigned again.",
        "#1 is normal priority again.",
        "#1 is open again.",
    ]
    assert state() == before
    assert triage.undo(history) is None


def test_tags_come_back_as_they_were_and_no_op_changes_are_not_recorded() -> None:
    history = History()
    triage.change_tags(FIRST, "a b")
    triage.change_tags(FIRST, "-a +c", history=history)
    triage.set_status(FIRST, "open", history=history)  # already open: nothing to undo
    assert len(history) == 1
    assert triage.undo(history) == "#1 is tagged a, b again."
    assert triage.tags(FIRST) == ["a", "b"]


def test_a_conversation_changed_since_is_left_alone() -> None:
    history = History()
    triage.set_status(FIRST, "pending", history=history)
    triage.set_status(FIRST, "closed")  # another agent, or the customer's mail
    with pytest.raises(ConfigError, match=r"#1 changed since \(closed now, not pending\)"):
        triage.undo(history)
    assert state()[0] == "closed"


def test_the_history_is_bounded() -> None:
    history = History(kept=2)
    for status in ("pending", "resolved", "closed"):
        triage.set_status(FIRST, status, history=history)
    assert len(history) == 2
    triage.undo(history)
    triage.undo(history)
    assert state()[0] == "pending" and triage.undo(history) is None
