"""The report's SLA section (issue 17) on a desk with a known history, on SQLite and on the
suite's real PostgreSQL: the demo's 22 conversations arrive at ANCHOR (Monday 11 March 2024,
12:00 UTC; 2 are then pending, 3 resolved or closed), two policies are made at 12:01, and three
open conversations are answered and resolved at fixed moments through the engine's own
functions. Clocks start at 12:01 (a policy counts from its creation). Every expected number is
worked out by hand below.

Policies: "standard" (every conversation): first response 1h, resolution 8h, around the
clock, paused while pending. "incidents" (type incident): first response 6h, resolution 8h,
business hours mon-fri 09:00-17:00 UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import report_rows, reports, sla, triage, types
from deskterm.desk.report_scope import scope
from deskterm.desk.sla_policies import Terms
from deskterm.outbound.replies import queue_reply
from deskterm.store import connection
from deskterm.store.db import clock_at
from deskterm.store.models import Conversation

ANCHOR = demo.ANCHOR.replace(tzinfo=None)
NOW = ANCHOR + timedelta(days=2)  # when the report is read: Wednesday 12:00
PERIOD = {"since": date(2024, 3, 11), "until": date(2024, 3, 13)}
HOURS = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def history(engine: str) -> dict[str, int]:
    demo.build_demo(now=demo.ANCHOR)
    connection.open_database()
    # The demo's triage at arrival left 5 not open (2 pending, 3 resolved or closed).
    opened = Conversation.select(Conversation.id).where(Conversation.status == "open")
    ids = [c.id for c in opened.order_by(Conversation.id)]
    assert len(ids) == 17
    fast, slow, incident = ids[:3]
    with clock_at(ANCHOR + MINUTE):
        types.add("incident")
        types.set_type(incident, "incident")
        sla.add_policy("standard", Terms(first_response="1h", resolution="8h"))
        sla.add_policy(
            "incidents",
            Terms(
                conversation_type="incident",
                first_response="6h",
                resolution="8h",
                hours="mon-fri 09:00-17:00",
            ),
        )

    def at(moment: datetime, call, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        with clock_at(moment):
            call(*args, **kwargs)

    # fast: answered at 12:30 (29m, met), pending until resolved at 14:00: 29m counted of 8h.
    at(ANCHOR + HOURS / 2, queue_reply, fast, "On it.", status="pending")
    at(ANCHOR + 2 * HOURS, triage.set_status, fast, "resolved")
    # slow: answered at 15:00 (breached), left open, resolved at 22:00: 9h59m counted (breached).
    at(ANCHOR + 3 * HOURS, queue_reply, slow, "Sorry for the wait.", status="open")
    at(ANCHOR + 10 * HOURS, triage.set_status, slow, "resolved")
    # incident: answered Tuesday 08:00, 20h later but 4h59m of business hours (Monday
    # 12:01-17:00): met; resolved Tuesday 12:01, 4h59m + 09:00-12:01 = 8h of business hours,
    # exactly the target: met.
    at(ANCHOR + 20 * HOURS, queue_reply, incident, "We are looking.", status="open")
    at(ANCHOR + 24 * HOURS + MINUTE, triage.set_status, incident, "resolved")
    return {"fast": fast, "slow": slow, "incident": incident}


def compute() -> dict:  # type: ignore[type-arg]
    with clock_at(NOW):
        return reports.compute(scope(**PERIOD))


def test_attainment_and_breaches_per_target_and_day(history: dict[str, int]) -> None:
    got = compute()["sla"]
    assert got["available"] is True
    first = got["first_response"]
    # Met: fast (30m of 1h) on the 11th, incident (5 business hours of 6) on the 12th.
    # Breached: slow (2h59m) and the 14 open ones never answered, due at 13:01 on the 11th.
    # The 2 pending ones' clocks stand still; the 3 resolved before 12:01 do not count.
    assert (first["met"], first["breached"]) == (2, 15)
    assert first["met_series"] == [1, 1, 0]
    assert first["breached_series"] == [15, 0, 0]
    assert first["attainment_pct"] == round(100 * 2 / 17, 1)
    done = got["resolution"]
    # Met: fast (pending time stopped the clock) and incident (exactly 8h); breached: slow.
    assert (done["met"], done["breached"]) == (2, 1)
    assert done["met_series"] == [1, 1, 0]
    assert done["breached_series"] == [1, 0, 0]
    assert done["attainment_pct"] == 66.7
    assert "business hours" in got["hours"]


def test_without_business_hours_the_incident_would_have_breached(history: dict[str, int]) -> None:
    """The same history counted around the clock: the incident's 20h first response is late."""
    sla.remove_policy("incidents")
    with clock_at(ANCHOR + MINUTE):
        sla.add_policy("incidents", Terms(conversation_type="incident", first_response="6h"))
    first = compute()["sla"]["first_response"]
    assert (first["met"], first["breached"]) == (1, 16)
    assert "around the clock" in compute()["first_response"]["hours"]


def test_filters_narrow_the_sla_numbers(history: dict[str, int]) -> None:
    with clock_at(NOW):
        got = reports.compute(scope(**PERIOD, channel="demo"))["sla"]
    assert got["first_response"]["met"] == 2
    types.set_type(history["slow"], "incident")  # slow now under the incidents policy
    with clock_at(NOW):
        sla.refresh_all()
    # Its 3h answer is within the incidents' 6h (Monday 12:00-15:00 is in business hours).
    assert compute()["sla"]["first_response"]["met"] == 3


def test_the_rows_carry_the_sla_numbers_and_the_types(history: dict[str, int]) -> None:
    got = compute()
    found = {(s, k, m): v for s, k, m, v in report_rows.rows(got)}
    assert found[("sla", "first_response", "met")] == 2
    assert found[("sla", "resolution", "breached")] == 1
    assert found[("sla_first_response", "2024-03-11", "breached")] == 15
    per_type = {row["type"]: row["resolved"] for row in got["by_type"]}
    # Resolved in the period: the incident; untyped, fast, slow and the demo's 3 at arrival.
    assert per_type == {"incident": 1, None: 5}
    assert found[("by_type", "incident", "resolved")] == 1
