"""Bulk triage (issue 14): one change applied to several conversations at once through
`triage.for_all`, recorded as one entry that one undo takes back whole."""

from __future__ import annotations

import pytest

from deskterm.desk import triage
from deskterm.desk.undo import History
from deskterm.errors import ConfigError, NotFound
from deskterm.store.models import Conversation

pytestmark = pytest.mark.usefixtures("demo_desk")


@pytest.fixture(autouse=True)
def plain(demo_desk: None) -> None:
    """IDS: three open conversations of the demo, normal priority, unassigned, untagged."""
    global IDS
    found = [
        row.id
        for row in Conversation.select()
        .where(
            (Conversation.status == "open")
            & (Conversation.priority == "normal")
            & Conversation.assignee.is_null()
        )
        .order_by(Conversation.id)
        if not triage.tags(row.id)
    ]
    IDS = found[:3]
    assert len(IDS) == 3


IDS: list[int] = []


def states() -> list[tuple[object, ...]]:
    return [
        (row.status, row.priority, row.assignee, tuple(triage.tags(row.id)))
        for row in Conversation.select().where(Conversation.id.in_(IDS)).order_by(Conversation.id)
    ]


def test_each_change_applies_to_all_and_one_undo_takes_it_back() -> None:
    history = History()
    before = states()
    assert triage.for_all(IDS, triage.set_status, "pending", history=history) == 3
    assert {row[0] for row in states()} == {"pending"}
    assert triage.for_all(IDS, triage.assign, "kim", history=history) == 3
    assert triage.for_all(IDS, triage.change_tags, "+vip", history=history) == 3
    assert triage.for_all(IDS, triage.set_priority, "high", history=history) == 3
    assert states() == [("pending", "high", "kim", ("vip",))] * 3
    assert len(history) == 4  # one entry per bulk change
    assert triage.undo(history) == "3 conversations are normal priority again."
    assert triage.undo(history) == "3 conversations are untagged again."
    assert triage.undo(history) == "3 conversations are unassigned again."
    assert triage.undo(history) == "3 conversations are open again."
    assert states() == before
    assert triage.undo(history) is None


def test_a_bulk_change_is_all_or_nothing() -> None:
    history = History()
    before = states()
    with pytest.raises(NotFound):
        triage.for_all([*IDS, 999_999], triage.set_status, "closed", history=history)
    assert states() == before and len(history) == 0
    with pytest.raises(ConfigError):
        triage.for_all(IDS, triage.set_priority, "urgent", history=history)
    assert states() == before and len(history) == 0


def test_undo_of_a_bulk_change_refuses_when_one_changed_since() -> None:
    history = History()
    triage.for_all(IDS, triage.set_status, "resolved", history=history)
    triage.set_status(IDS[1], "closed")  # someone else, not recorded
    with pytest.raises(ConfigError, match=f"#{IDS[1]} changed since"):
        triage.undo(history)
    assert [row[0] for row in states()] == ["resolved", "closed", "resolved"]


def test_a_mixed_before_is_said_as_they_were() -> None:
    history = History()
    triage.set_status(IDS[0], "pending")
    triage.for_all(IDS, triage.set_status, "closed", history=history)
    assert triage.undo(history) == "3 conversations are as they were."
    assert [row[0] for row in states()] == ["pending", "open", "open"]
