"""The queries behind the conversation list: ids by filter, rows by id, counts."""

from __future__ import annotations

import pytest

from deskterm.desk import list_index, queries, triage
from deskterm.errors import ConfigError

pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


def test_ids_are_newest_activity_first_and_match_the_cli_listing() -> None:
    for status in ("open", "pending", "all"):
        assert list_index.conversation_ids(status) == [
            row["id"] for row in queries.list_conversations(status)
        ]


def test_search_looks_at_subject_contact_text_and_number() -> None:
    assert list_index.conversation_ids("all", search="VAT number") == [3]  # subject
    assert list_index.conversation_ids("all", search="kestrel-analytics") == [4]  # contact
    assert list_index.conversation_ids("all", search="Amélie") == [6]  # contact name
    assert list_index.conversation_ids("all", search="Vodafone") == [12]  # message text
    assert list_index.conversation_ids("all", search="#15") == [15]  # closed, by number
    # By number it is found whatever the tab (issue 14): the agent asked for that one.
    assert list_index.conversation_ids("open", search="#15") == [15]
    assert list_index.conversation_ids("all", search="   ") == list_index.conversation_ids("all")


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ConfigError, match="Status 'later' is not known"):
        list_index.conversation_ids("later")


def test_rows_come_in_the_order_asked_and_skip_missing_ids() -> None:
    rows = list_index.conversation_rows([3, 999, 1])
    assert [r["id"] for r in rows] == [3, 1]
    assert rows[0] == {
        "id": 3,
        "subject": "Invoice INV-2024-0312 shows the wrong VAT number",
        "status": "pending",
        "priority": "normal",
        "assignee": "sam",
        "unread": True,
        "messages": 1,
        "updated_at": "2024-03-11T07:55:00+00:00",
        "channel": "demo",
        "contact": "accounts@lumenfoods.example",
        "contact_name": "Claire Martin",
        "due_at": None,  # the demo desk has no SLA policy
        "warn_at": None,
        "due_target": None,
    }
    assert list_index.conversation_rows([]) == []


def test_status_counts_follow_triage() -> None:
    assert list_index.status_counts()["open"] == 17
    triage.set_status(1, "closed")
    counts = list_index.status_counts()
    assert (counts["open"], counts["closed"], counts["all"]) == (16, 2, 22)
    assert list_index.status_counts("demo") == counts
