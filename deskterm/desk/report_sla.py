"""A report's SLA section: per period, how many first responses and resolutions met their
target and how many breached it, and durations counted in business hours where the
conversation's policy has a calendar. Counted by SQL over each conversation's kept outcome
(desk/report_outcomes.py: its targets' verdicts, counted from the clock it stores, desk/sla.py,
and its running target's due time), never a row per conversation into Python.

What counts where:
- a target reached (the first reply queued, the last change to resolved or closed) counts in
  the bucket it was reached in: met when the counted time from the clock's start (the
  conversation's arrival, or the policy's creation if later) is within the target; for a
  resolution, less the time the clock stood stopped (pending, resolved before a reopening).
  The first response's stopped time is not subtracted: the stored total also holds the
  stops after it, and a conversation seldom waits on its customer before the first reply.
- a target not reached whose due time has passed counts as breached in the bucket it fell
  due in.
Targets reached before their policy existed are not counted.

Business hours: the policy's calendar (desk/sla_calendar.py, the one the clocks use) gives
its opening hours over the span the report needs; they go into a temporary table with the
counted seconds before each, so the database finds the counted time at any moment with an
index lookup and a difference (`counted`). No second calendar is written here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import peewee
from peewee import SQL, Case, fn

from deskterm.desk import report_breakdown, sla_policies
from deskterm.desk import report_sql as rsql
from deskterm.desk.sla_calendar import MAX_DAYS_AHEAD
from deskterm.store import dialect
from deskterm.store.models import Conversation, Outcome, ReportHours, SlaPolicy

NO_SLA = "No SLA targets on this desk: attainment and breaches need them (`deskterm sla add`)."
AROUND = "around the clock (no SLA policy here has business hours)"
BUSINESS = (
    "in business hours where the conversation's SLA policy has a calendar, else around the clock"
)
TARGETS = ("first_response", "resolution")
FIELDS = [ReportHours.policy, ReportHours.opens, ReportHours.closes, ReportHours.before_s]


class Counter:
    """Counted seconds between two moments of a conversation, by its policy's calendar."""

    def __init__(self, until: datetime) -> None:
        """Load the opening hours of every business-hours policy, from its conversations'
        earliest creation (at most five years back: the calendar's reach) to `until`."""
        calendars = {
            p.id: sla_policies.calendar_of(p) for p in SlaPolicy.select() if p.hours is not None
        }
        self.policies = list(calendars)
        if not calendars:
            return
        earliest = Conversation.created_at.python_value(
            Conversation.select(fn.MIN(Conversation.created_at))
            .where(Conversation.sla_policy.in_(self.policies))
            .scalar()
        )
        since = max(earliest or until, until - timedelta(days=MAX_DAYS_AHEAD - 7))
        ReportHours.create_table(safe=True, temporary=True)
        ReportHours.delete().execute()
        rows = []
        for policy, calendar in calendars.items():
            before = 0
            for opens, closes in calendar.intervals(since):
                if opens >= until:
                    break
                rows.append((policy, opens, closes, before))
                before += int((closes - opens).total_seconds())
        for i in range(0, len(rows), 500):
            ReportHours.insert_many(rows[i : i + 500], fields=FIELDS).execute()

    def at(self, moment: peewee.Node) -> peewee.Node:
        """Counted seconds up to `moment` on the conversation's policy calendar (from an
        arbitrary zero: only differences mean something)."""
        inner = ReportHours.alias("h")
        part = dialect.greatest(
            0, dialect.seconds_between(dialect.least(moment, inner.closes), inner.opens)
        )
        return fn.COALESCE(
            inner.select(inner.before_s + part)
            .where((inner.policy == Conversation.sla_policy) & (inner.opens <= moment))
            .order_by(inner.opens.desc())
            .limit(1),
            0,
        )

    def between(self, later: peewee.Node, earlier: peewee.Node) -> peewee.Node:
        """Seconds from `earlier` to `later`: in business hours where the conversation's
        policy has a calendar, else around the clock."""
        plain = dialect.seconds_between(later, earlier)
        if not self.policies:
            return plain
        business = self.at(later) - self.at(earlier)
        return Case(None, [(Conversation.sla_policy.in_(self.policies), business)], plain)

    @property
    def hours(self) -> str:
        return BUSINESS if self.policies else AROUND


def clock_start() -> peewee.Node:
    """When a conversation's clock started: its arrival, or its policy's creation if later."""
    arrived = fn.COALESCE(Conversation.sla_started_at, Conversation.created_at)
    return dialect.greatest(arrived, SlaPolicy.created_at)


def attainment(
    report: Any, counter: Counter, now: datetime
) -> tuple[dict[str, Any], dict[str, report_breakdown.Combos]]:
    """The SLA section of `report` (a reports._Report): met and breached per target, per
    bucket and in all, and the attainment in percent (None when nothing was due); and the
    targets that fell due unreached, per combination of the breakdown's keys (named as in
    report_breakdown.SLA: the reached ones' verdicts are counted there with the other
    numbers of each conversation, reports._Report.breakdowns)."""
    if not SlaPolicy.select().exists():
        return {"available": False, "note": NO_SLA}, {}
    out: dict[str, Any] = {"available": True, "hours": counter.hours}
    combos: dict[str, report_breakdown.Combos] = {}
    for target in TARGETS:
        # Each reached target's verdict, as desk/report_outcomes.py counted and kept it.
        if target == "first_response":
            reached, late = Outcome.first_at, Outcome.first_late
            base = Outcome.select().where(report._in_period(reached), *report.kept)
        else:
            reached, late = Outcome.done_at, Outcome.done_late
            base = report._resolved()
        done = (
            base.select(
                rsql.bucket(reached, report.sc.step).alias("k"),
                Case(None, [(late, 1)], 0).alias("late"),
                fn.COUNT(SQL("*")),
            )
            .where(late.is_null(False))
            .group_by(SQL("k"), SQL("late"))
            .tuples()
        )
        met = dict.fromkeys(report.keys, 0)
        breached = dict.fromkeys(report.keys, 0)
        breached_by: report_breakdown.Combos = defaultdict(int)
        for k, was_late, n in done:
            into = breached if int(was_late) else met
            if k in into:
                into[k] += int(n)
        overdue = (
            Outcome.select(
                rsql.bucket(Outcome.due_at, report.sc.step).alias("k"),
                fn.COUNT(SQL("*")),
                *report_breakdown.keys(),
            )
            .where(
                Outcome.due_target == target,
                report._in_period(Outcome.due_at),
                Outcome.due_at <= now,
                *report.kept,
            )
            .group_by(*report_breakdown.GROUP_BY, SQL("k"))
            .tuples()
        )
        for k, n, *key in overdue:
            if k in breached:
                breached[k] += int(n)
                breached_by[tuple(key)] += int(n)
        met_total, breached_total = sum(met.values()), sum(breached.values())
        due = met_total + breached_total
        out[target] = {
            "met": met_total,
            "breached": breached_total,
            "attainment_pct": round(100 * met_total / due, 1) if due else None,
            "met_series": [met[k] for k in report.keys],
            "breached_series": [breached[k] for k in report.keys],
        }
        combos[f"sla_{target}_breached"] = dict(breached_by)
    return out, combos


def summary(section: dict[str, Any]) -> str:
    """The SLA section in one line, as the CLI's text and the Reports screen show it."""
    if not section["available"]:
        return str(section["note"])
    parts = []
    for target, words in (("first_response", "first response"), ("resolution", "resolution")):
        got = section[target]
        pct = "-" if got["attainment_pct"] is None else f"{got['attainment_pct']}%"
        parts.append(f"{words} {pct} met ({got['met']} met, {got['breached']} breached)")
    return "; ".join(parts)
