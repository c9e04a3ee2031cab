"""The reports' kept outcomes (desk/report_outcomes.py): each conversation's first response
and resolution are counted once, and counted again exactly when what they were counted from
changed (a reply, a resolution, the policy), whichever path changed it. Both engines."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import report_outcomes, report_sla, reports, sla, triage
from deskterm.desk.report_scope import scope
from deskterm.desk.sla_policies import Terms
from deskterm.store import connection
from deskterm.store.db import clock_at
from deskterm.store.models import (
    Contact,
    Conversation,
    ConversationType,
    Organization,
    Outcome,
)

MONTH = {"since": date(2024, 2, 11), "until": date(2024, 3, 11)}


@pytest.fixture
def history(engine: str) -> None:
    demo.build_demo(now=demo.ANCHOR, history=True)
    connection.open_database()


def _bring_up_to_date() -> int:
    until = demo.ANCHOR.replace(tzinfo=None) + timedelta(days=30)
    return report_outcomes.bring_up_to_date(report_sla.Counter(until))


def test_a_report_counts_each_conversation_once(history: None) -> None:
    first = reports.compute(scope(**MONTH))
    # Every conversation, answered or not: each row also keeps what a report groups by.
    assert Outcome.select().count() == Conversation.select().count() == 22
    assert _bring_up_to_date() == 0  # nothing changed: nothing counted again
    assert reports.compute(scope(**MONTH)) == first


def test_what_changed_is_counted_again_and_only_that(history: None) -> None:
    reports.compute(scope(**MONTH))
    resolved = Outcome.get(Outcome.done_at.is_null(False), Outcome.first_at.is_null(False))
    cid = resolved.conversation_id
    before = resolved.done_seconds
    # Reopened and resolved again a day later: its resolution is counted anew.
    with clock_at(demo.ANCHOR + timedelta(days=1)):
        triage.set_status(cid, "open")
        triage.set_status(cid, "resolved")
    assert _bring_up_to_date() == 1
    again = Outcome.get_by_id(cid)
    assert again.done_at == demo.ANCHOR.replace(tzinfo=None) + timedelta(days=1)
    assert again.done_seconds > before
    # Written behind the engine's back (another machine's older deskterm, a bulk fix): seen.
    Conversation.update(first_response_at=None).where(Conversation.id == cid).execute()
    assert _bring_up_to_date() == 1
    assert Outcome.get_by_id(cid).first_seconds is None


def test_a_new_policy_recounts_in_its_business_hours(history: None) -> None:
    around = reports.compute(scope(**MONTH))["first_response"]
    with clock_at(demo.ANCHOR):
        sla.add_policy("standard", Terms(first_response="1h", hours="mon-fri 09:00-17:00"))
    assert _bring_up_to_date() == Outcome.select().count()  # every one's policy changed
    business = reports.compute(scope(**MONTH))["first_response"]
    # 03: Monday 07:55 answered 08:30, before opening: 35m around the clock, 0 in hours.
    assert Outcome.get_by_id(3).first_seconds == 0
    assert business["median_seconds"] < around["median_seconds"]


def test_an_edited_policy_recounts_even_where_its_id_is_reused(history: None) -> None:
    """Editing a policy deletes it and makes it anew (sla.replace_policy): on SQLite the new
    one may take the old one's id, so the kept rows compare when it was made too."""
    with clock_at(demo.ANCHOR - timedelta(days=30)):
        sla.add_policy("standard", Terms(first_response="1h"))
    around = reports.compute(scope(**MONTH))["first_response"]
    with clock_at(demo.ANCHOR - timedelta(days=29)):
        sla.replace_policy(
            "standard", "standard", Terms(first_response="72h", hours="mon-fri 09:00-17:00")
        )
    edited = reports.compute(scope(**MONTH))["first_response"]
    Outcome.delete().execute()  # what counting everything afresh gives
    assert reports.compute(scope(**MONTH))["first_response"] == edited
    assert edited["median_seconds"] < around["median_seconds"]  # now in business hours


def test_what_a_report_groups_by_is_kept_and_follows_each_change(history: None) -> None:
    """The keys a report groups and filters by are read from the kept rows: a reassignment,
    the contact's organization, the type, the channel, the status, each written behind the
    engine's back, is seen by the next report and counted again for that conversation only."""
    reports.compute(scope(**MONTH))
    row = Outcome.get(Outcome.done == False)  # noqa: E712
    cid = row.conversation_id
    conversation = Conversation.get_by_id(cid)
    org = Organization.create(name="Kept Ltd")
    kind = ConversationType.create(name="incident")
    for change, field, wanted in (
        (
            lambda: Conversation.update(assignee="kept").where(Conversation.id == cid),
            "assignee",
            "kept",
        ),
        (
            lambda: Contact.update(organization=org.id).where(
                Contact.id == conversation.contact_id
            ),
            "organization",
            org.id,
        ),
        (
            lambda: Conversation.update(conversation_type=kind.id).where(Conversation.id == cid),
            "conversation_type",
            kind.id,
        ),
        (lambda: Conversation.update(status="closed").where(Conversation.id == cid), "done", True),
    ):
        change().execute()
        # The organization is the contact's: each of the contact's conversations moves.
        contact = Contact.get_by_id(conversation.contact_id)
        moved = contact.conversations.count() if field == "organization" else 1
        assert _bring_up_to_date() == moved, field
        assert getattr(Outcome.get_by_id(cid), field) == wanted
    by_type = {r["type"]: r for r in reports.compute(scope(**MONTH))["by_type"]}
    assert by_type["incident"]["new"] == (1 if row.created_at.date() >= MONTH["since"] else 0)
