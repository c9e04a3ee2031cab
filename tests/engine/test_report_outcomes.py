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
from deskterm.store.models import Conversation, Outcome

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
    kept = Outcome.select().count()
    assert kept == 6  # 5 answered, and one resolved without a reply
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
