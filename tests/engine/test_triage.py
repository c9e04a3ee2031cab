"""Triage: the only way status, priority, assignee, tags and read state change."""

from __future__ import annotations

import pytest

from deskterm.desk import triage
from deskterm.errors import ConfigError, NotFound
from deskterm.store.models import Conversation

FIRST = 1  # "Where is my order #48213?": open, normal, unassigned, unread


pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


def row() -> Conversation:
    return Conversation.get_by_id(FIRST)


def test_status_cycles_through_a_tickets_life() -> None:
    seen = [triage.cycle_status(FIRST) for _ in range(4)]
    assert seen == ["pending", "resolved", "closed", "open"]
    assert triage.set_status(FIRST, "closed") == "closed"
    assert row().status == "closed"


def test_priority_cycles_up_first() -> None:
    assert [triage.cycle_priority(FIRST) for _ in range(3)] == ["high", "low", "normal"]


def test_unknown_values_are_refused_with_what_is_allowed() -> None:
    with pytest.raises(ConfigError, match="use open, pending, resolved, closed"):
        triage.set_status(FIRST, "snoozed")
    with pytest.raises(ConfigError, match="use high, normal, low"):
        triage.set_priority(FIRST, "urgent")
    assert (row().status, row().priority) == ("open", "normal")


def test_a_missing_conversation_is_one_sentence() -> None:
    for change in (
        lambda: triage.set_status(999, "open"),
        lambda: triage.cycle_status(999),
        lambda: triage.assign(999, "kim"),
        lambda: triage.add_tag(999, "vip"),
    ):
        with pytest.raises(NotFound, match=r"There is no conversation #999\."):
            change()


def test_assign_and_unassign() -> None:
    assert triage.assign(FIRST, "  @Kim ") == "kim"  # the demo's agents: sam, alex, kim
    assert row().assignee == "kim"
    assert triage.assign(FIRST, "") is None
    assert row().assignee is None


def test_tags_are_lowercase_and_idempotent() -> None:
    assert triage.add_tag(FIRST, "VIP") == "vip"
    triage.add_tag(FIRST, "vip")
    triage.add_tag(FIRST, "billing")
    assert triage.tags(FIRST) == ["billing", "vip"]
    triage.remove_tag(FIRST, "VIP")
    assert triage.tags(FIRST) == ["billing"]
    with pytest.raises(ConfigError, match="cannot be empty"):
        triage.add_tag(FIRST, " \n ")


def test_read_state() -> None:
    assert row().unread
    triage.mark_read(FIRST)
    assert not row().unread
    triage.mark_read(FIRST, read=False)
    assert row().unread


def test_triage_never_moves_a_conversation_in_the_list() -> None:
    before = row().updated_at
    triage.cycle_status(FIRST)
    triage.cycle_priority(FIRST)
    triage.assign(FIRST, "kim")
    triage.mark_read(FIRST)
    assert row().updated_at == before


def test_change_tags_adds_plain_and_plus_words_and_removes_minus_words() -> None:
    triage.add_tag(FIRST, "billing")
    assert triage.change_tags(FIRST, "+Urgent -billing vip") == ["urgent", "vip"]
    assert triage.change_tags(FIRST, "") == ["urgent", "vip"]
    with pytest.raises(ConfigError):
        triage.change_tags(FIRST, "newtag +")  # nothing changes when a word is wrong
    assert triage.tags(FIRST) == ["urgent", "vip"]
    with pytest.raises(NotFound):
        triage.change_tags(999, "vip")
