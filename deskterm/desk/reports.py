"""The desk's report over a period: volume, replies, response and resolution times, backlog,
skipped mail and time spent, in total, per day or week, and per agent, organization and
channel. `deskterm report` prints it, the Reports screen draws it: both call `compute`, so
they show the same numbers.

Every number is an SQL aggregate (COUNT, SUM, MIN/MAX, nearest-rank percentiles: see
desk/report_sql.py); no query returns a row per conversation. Days are UTC days.

What each number means:
- new: conversations created in the period (their first mail's date).
- replies: agents' replies queued in the period (not acknowledgements, forwards or cancelled);
  per agent, by who wrote each (`Message.agent`), so replies sent before deskterm recorded
  it count under no agent.
- first response: from a conversation's creation to its first reply (as the SLA clock
  records it: `Conversation.first_response_at`, the first agent reply queued), over the
  conversations created in the period that have one; `unanswered` counts the others.
- resolution: from creation to the last change to resolved or closed, over the conversations
  resolved or closed now whose last such change is in the period.
- backlog: conversations open and pending at the end of each day or week, from their creation
  (open) and their recorded status changes (desk/status_history.py).
- time spent: entries (measured or logged) that started in the period.
Filters: `channel` and `org` (the contact's organization) narrow everything but skipped mail
to their conversations, skipped mail to the channel; `agent` narrows the conversations to those
assigned to the agent now, and replies and time spent to the agent's own.
Per agent: new and resolved conversations by their assignee now, replies by who wrote them,
time by who spent it; the row of no agent holds the unassigned and the unknown. On a desk
without agents, `agents` says so (as `sla` does without SLA targets).
Durations are counted in business hours where the conversation's SLA policy has a calendar,
else around the clock; SLA attainment and breaches are desk/report_sla.py's, the breakdowns
per agent, organization, channel and type desk/report_breakdown.py's.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, timedelta
from typing import Any

import peewee
from peewee import SQL, Case, fn

from deskterm.desk import report_breakdown, report_outcomes, report_sla
from deskterm.desk import report_sql as rsql
from deskterm.desk.report_scope import Scope, buckets, conditions, kept_conditions
from deskterm.desk.status_history import BACKLOG
from deskterm.store import dialect
from deskterm.store.db import database, utcnow
from deskterm.store.models import (
    Channel,
    Conversation,
    Message,
    Outbox,
    Outcome,
    SkippedMail,
    StatusChange,
    TimeEntry,
)


def compute(sc: Scope) -> dict[str, Any]:
    """The whole report for `sc`, as plain data (`deskterm report --json` prints it)."""
    start = datetime.combine(sc.since, time())
    end = datetime.combine(sc.until + timedelta(days=1), time())
    where = conditions(sc)
    keys = buckets(sc)
    now = utcnow()
    counter = report_sla.Counter(max(end, now))
    # The kept outcomes first, in a short write transaction of their own (store/
    # outcome_stale.py); then every section reads one snapshot.
    report_outcomes.bring_up_to_date(counter)
    with database.atomic():
        dialect.one_snapshot()  # PostgreSQL: not each statement's own (READ COMMITTED)
        dialect.without_jit()
        return _compute(_Report(sc, start, end, where, keys, counter), now)


def _compute(r: _Report, now: datetime) -> dict[str, Any]:
    sc = r.sc
    new = r.new_conversations()
    first, first_ranks = r.first_response(new["total"])
    done, done_ranks = r.resolution()
    sla, sla_combos = report_sla.attainment(r, r.counter, now)
    times = {"first_response": first_ranks, "resolution": done_ranks}
    return {
        "period": {**asdict(sc), "since": sc.since.isoformat(), "until": sc.until.isoformat()},
        "buckets": r.keys,
        "new": new,
        "replies": r.replies(),
        "first_response": first,
        "resolution": done,
        "sla": sla,
        "backlog": r.backlog(new["series"]),
        "skipped": r.skipped(),
        "time_spent": r.time_spent(),
        "agents": report_breakdown.agents_section(),
        **r.breakdowns(times, sla_combos),
    }


_REPLY = (Message.direction == "out") & (Outbox.kind == "reply") & (Outbox.state != "cancelled")


class _Report:
    """The queries of one report, sharing its period and filters."""

    def __init__(
        self,
        sc: Scope,
        start: datetime,
        end: datetime,
        where: list[peewee.Expression],
        keys: list[str],
        counter: report_sla.Counter,
    ) -> None:
        self.sc, self.start, self.end, self.where, self.keys = sc, start, end, where, keys
        self.kept = kept_conditions(sc)  # `where`, on the kept outcomes
        self.counter = counter  # durations in business hours where a policy has them

    def _in_period(self, column: peewee.Node) -> peewee.Expression:
        return (column >= self.start) & (column < self.end)

    def _series(self, query: peewee.SelectQuery, column: peewee.Node) -> list[int]:
        """Counts per bucket of `query` (whose first selected value is counted or summed),
        zeros where nothing happened."""
        rows = (
            query.select_extend(rsql.bucket(column, self.sc.step).alias("k"))
            .group_by(SQL("k"))
            .tuples()
        )
        found = {k: int(value or 0) for value, k in rows}
        return [found.get(k, 0) for k in self.keys]

    def new_conversations(self) -> dict[str, Any]:
        query = Conversation.select(fn.COUNT(Conversation.id)).where(
            self._in_period(Conversation.created_at), *self.where
        )
        series = self._series(query.clone(), Conversation.created_at)
        return {"total": sum(series), "series": series}

    def _replies(self, *values: peewee.Node, keyed: bool = False) -> peewee.SelectQuery:
        """Replies in the period; with an agent filter, the agent's own (as `_time`), not
        every reply on the conversations assigned to them. Joined to their conversations
        only for a filter or the breakdown's keys (`keyed`): the join cost a year's count a
        fifth of its time."""
        where = [w for w in self.kept if not _is_assignee(w)]
        query = Message.select(*values).join(Outbox, on=(Outbox.message == Message.id))
        if where or keyed:
            query = query.join_from(
                Message, Outcome, on=(Outcome.conversation == Message.conversation)
            )
        if self.sc.agent:
            where.append(Message.agent == self.sc.agent)
        return query.where(_REPLY, self._in_period(Message.date), *where)

    def replies(self) -> dict[str, Any]:
        series = self._series(self._replies(fn.COUNT(Message.id)), Message.date)
        return {"total": sum(series), "series": series}

    def _ranked(self, rows: peewee.SelectQuery, d: peewee.Node) -> rsql.Ranks:
        """The durations `d` of the kept outcomes `rows` picks, ranked in all and per
        breakdown key (the conversation's assignee, organization, channel, type) in one
        call: the breakdown's times mean what the totals mean, and are counted alike."""
        return rsql.ranked(rows, d, report_breakdown.KEPT)

    def first_response(self, created: int) -> tuple[dict[str, Any], rsql.Ranks]:
        """The first-response section, and its times per breakdown key."""
        rows = Outcome.select().where(self._in_period(Outcome.created_at), *self.kept)
        ranked = self._ranked(rows, Outcome.first_seconds)
        count, ranks = rsql.overall(ranked)
        section = {
            "answered": count,
            "unanswered": created - count,
            "median_seconds": ranks[50],
            "p90_seconds": ranks[90],
            "hours": self.counter.hours,
        }
        return section, ranked

    def resolution(self) -> tuple[dict[str, Any], rsql.Ranks]:
        """The resolution section, and its times per breakdown key."""
        ranked = self._ranked(self._resolved(), Outcome.done_seconds)
        count, ranks = rsql.overall(ranked)
        series = self._series(self._resolved(fn.COUNT(SQL("*"))), Outcome.done_at)
        section = {
            "resolved": count,
            "series": series,
            "median_seconds": ranks[50],
            "p90_seconds": ranks[90],
            "hours": self.counter.hours,
        }
        return section, ranked

    def backlog(self, new: list[int]) -> dict[str, Any]:
        """Open and pending at the end of each bucket: every conversation created so far
        starts open (those of the period are `new`, the series already counted); each
        recorded change moves one between the statuses. Summed per bucket in the database,
        then added up over the buckets here."""
        created = dict(zip(self.keys, new, strict=True))
        created["before"] = (
            Conversation.select(fn.COUNT(Conversation.id))
            .where(Conversation.created_at < self.start, *self.where)
            .scalar()
        ) or 0

        def moved(status: str) -> peewee.Node:
            into = Case(None, [(StatusChange.new_status == status, 1)], 0)
            return fn.SUM(into - Case(None, [(StatusChange.old_status == status, 1)], 0))

        early = Case(None, [(StatusChange.changed_at < self.start, "before")], None)
        query = StatusChange.select(
            fn.COALESCE(early, rsql.bucket(StatusChange.changed_at, self.sc.step))
            .coerce(False)
            .alias("k"),
            moved("open"),
            moved("pending"),
        )
        if self.where:  # the conversation only for a filter: the join tripled a year's read
            query = query.join(Conversation, on=(StatusChange.conversation == Conversation.id))
        rows = query.where(StatusChange.changed_at < self.end, *self.where).group_by(SQL("k"))
        changes = {k: (int(o or 0), int(p or 0)) for k, o, p in rows.tuples()}
        opened, pending = [], []
        now_open = int(created.get("before", 0)) + changes.get("before", (0, 0))[0]
        now_pending = changes.get("before", (0, 0))[1]
        for k in self.keys:
            moved_open, moved_pending = changes.get(k, (0, 0))
            now_open += int(created.get(k, 0)) + moved_open
            now_pending += moved_pending
            opened.append(now_open)
            pending.append(now_pending)
        total = [o + p for o, p in zip(opened, pending, strict=True)]
        return {"series": total, "open": opened, "pending": pending, "statuses": list(BACKLOG)}

    def skipped(self) -> dict[str, Any]:
        kind = rsql.reason_kind(SkippedMail.reason).alias("kind")
        query = SkippedMail.select(kind, fn.COUNT(SkippedMail.id)).where(
            self._in_period(SkippedMail.created_at)
        )
        if self.sc.channel:
            query = query.where(
                SkippedMail.channel.in_(
                    Channel.select(Channel.id).where(Channel.name == self.sc.channel)
                )
            )
        rows = query.group_by(SQL("kind")).tuples()
        by_reason = dict(sorted(((str(k), int(n)) for k, n in rows), key=lambda r: (-r[1], r[0])))
        return {"total": sum(by_reason.values()), "by_reason": by_reason}

    def _time(self, *values: peewee.Node, keyed: bool = False) -> peewee.SelectQuery:
        """Time entries started in the period; with an agent filter, the agent's own. Joined
        to their conversations only for a filter or the breakdown's keys (as `_replies`:
        the join was two thirds of a year's sum)."""
        where = [w for w in self.kept if not _is_assignee(w)]
        query = TimeEntry.select(*values)
        if where or keyed:
            query = query.join(Outcome, on=(Outcome.conversation == TimeEntry.conversation))
        if self.sc.agent:
            where.append(TimeEntry.agent == self.sc.agent)
        return query.where(self._in_period(TimeEntry.started_at), *where)

    def time_spent(self) -> dict[str, Any]:
        series = self._series(self._time(fn.SUM(TimeEntry.seconds)), TimeEntry.started_at)
        return {"total_seconds": sum(series), "series": series}

    def breakdowns(
        self, times: dict[str, rsql.Ranks], overdue: dict[str, report_breakdown.Combos]
    ) -> dict[str, list[dict[str, Any]]]:
        """The numbers per agent (the conversation's assignee; replies: who wrote them; time:
        who spent it), organization, channel and type (desk/report_breakdown.py): what each
        conversation counts for (new, resolved, its reached SLA targets' verdicts) in one
        grouped read of the conversations, replies and time spent in one each; with the
        first-response and resolution times ranked per key and the SLA targets that fell due
        unreached (`overdue`, report_sla.attainment's)."""

        def one(condition: peewee.Expression) -> peewee.Node:
            return Case(None, [(condition, 1)], 0)

        created = self._in_period(Outcome.created_at)
        resolved = self._is_resolved()
        answered = self._in_period(Outcome.first_at)
        counted = report_breakdown.counted(
            Outcome.select().where(created | answered | resolved, *self.kept),
            {
                "new": one(created),
                "resolved": one(resolved),
                "sla_first_response_met": one(answered & ~Outcome.first_late),
                "sla_first_response_breached": one(answered & Outcome.first_late),
                "sla_resolution_met": one(resolved & ~Outcome.done_late),
                "sla_resolution_breached": one(resolved & Outcome.done_late),
            },
        )
        for metric, combos in overdue.items():
            for combo, n in combos.items():
                counted[metric][combo] = counted[metric].get(combo, 0) + n
        counted["replies"] = report_breakdown.grouped(
            self._replies(fn.COUNT(Message.id), keyed=True), Message.agent
        )
        counted["time_seconds"] = report_breakdown.grouped(
            self._time(fn.SUM(TimeEntry.seconds), keyed=True), TimeEntry.agent
        )
        return report_breakdown.breakdowns(counted, times)

    def _is_resolved(self) -> peewee.Expression:
        """Resolved or closed now, its last change to resolved or closed (`Outcome.done_at`,
        desk/report_outcomes.py) in the period."""
        return (Outcome.done == True) & self._in_period(Outcome.done_at)  # noqa: E712

    def _resolved(self, *values: peewee.Node) -> peewee.SelectQuery:
        """The kept outcomes of the conversations resolved in the period (`_is_resolved`)."""
        return Outcome.select(*values).where(self._is_resolved(), *self.kept)


def _is_assignee(expression: peewee.Expression) -> bool:
    return getattr(expression, "lhs", None) is Outcome.assignee
