"""The desk's report over a period: volume, replies, response and resolution times, backlog,
skipped mail and time spent, in total, per day or week, and per agent, organization and
channel. `deskterm report` prints it, the Reports screen draws it: both call `compute`, so
they show the same numbers.

Every number is an SQL aggregate (COUNT, SUM, MIN/MAX, a window for the percentiles: see
desk/report_sql.py); no query returns a row per conversation. Days are UTC days.

What each number means:
- new: conversations created in the period (their first mail's date).
- replies: agents' replies queued in the period (not acknowledgements, forwards or cancelled);
  per agent, by who wrote each (`Message.agent`), so replies sent before deskterm recorded
  it count under no agent.
- first response: from a conversation's creation to its first reply, over the conversations
  created in the period that have one; `unanswered` counts the others.
- resolution: from creation to the last change to resolved or closed, over the conversations
  resolved or closed now whose last such change is in the period.
- backlog: conversations open and pending at the end of each day or week, from their creation
  (open) and their recorded status changes (desk/status_history.py).
- time spent: entries (measured or logged) that started in the period.
Filters: `channel` and `org` (the contact's organization) narrow everything but skipped mail
to their conversations, skipped mail to the channel; `agent` narrows the conversations to those
assigned to the agent now, and replies and time spent to the agent's own.
Per agent: new and resolved conversations by their assignee now, replies by who wrote them,
time by who spent it; the row of no agent holds the unassigned and the unknown.
Durations are counted around the clock: business hours come with an SLA calendar (issue 16),
which this desk does not have yet, and the report says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, time, timedelta
from typing import Any

import peewee
from peewee import SQL, Case, fn

from deskterm.desk import report_sql as rsql
from deskterm.desk.report_scope import Scope, buckets, conditions
from deskterm.desk.status_history import BACKLOG, DONE
from deskterm.store.models import (
    Channel,
    Contact,
    Conversation,
    Message,
    Organization,
    Outbox,
    SkippedMail,
    StatusChange,
    TimeEntry,
)

NO_SLA = "No SLA targets on this desk: attainment and breaches need them (issue 16)."
NO_TYPES = "No conversation types on this desk: time per type needs them (issue 16)."
HOURS = "around the clock (business hours need an SLA calendar, which this desk has not)"


def compute(sc: Scope) -> dict[str, Any]:
    """The whole report for `sc`, as plain data (`deskterm report --json` prints it)."""
    start = datetime.combine(sc.since, time())
    end = datetime.combine(sc.until + timedelta(days=1), time())
    where = conditions(sc)
    keys = buckets(sc)
    r = _Report(sc, start, end, where, keys)
    new = r.new_conversations()
    return {
        "period": {**asdict(sc), "since": sc.since.isoformat(), "until": sc.until.isoformat()},
        "buckets": keys,
        "new": new,
        "replies": r.replies(),
        "first_response": r.first_response(new["total"]),
        "resolution": r.resolution(),
        "sla": {"available": False, "note": NO_SLA},
        "backlog": r.backlog(),
        "skipped": r.skipped(),
        "time_spent": r.time_spent(),
        "by_agent": r.breakdown("agent"),
        "by_organization": r.breakdown("organization"),
        "by_channel": r.breakdown("channel"),
        "by_type": {"available": False, "note": NO_TYPES},
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
    ) -> None:
        self.sc, self.start, self.end, self.where, self.keys = sc, start, end, where, keys

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

    def _replies(self, *values: peewee.Node) -> peewee.SelectQuery:
        """Replies in the period; with an agent filter, the agent's own (as `_time`), not
        every reply on the conversations assigned to them."""
        where = [w for w in self.where if not _is_assignee(w)]
        if self.sc.agent:
            where.append(Message.agent == self.sc.agent)
        return (
            Message.select(*values)
            .join(Outbox, on=(Outbox.message == Message.id))
            .switch(Message)
            .join(Conversation, on=(Message.conversation == Conversation.id))
            .where(_REPLY, self._in_period(Message.date), *where)
        )

    def replies(self) -> dict[str, Any]:
        series = self._series(self._replies(fn.COUNT(Message.id)), Message.date)
        return {"total": sum(series), "series": series}

    def first_response(self, created: int) -> dict[str, Any]:
        first = (
            Message.select(
                Message.conversation.alias("cid"), fn.MIN(Message.date).alias("first_at")
            )
            .join(Outbox, on=(Outbox.message == Message.id))
            .where(_REPLY)
            .group_by(Message.conversation)
            .alias("first_reply")
        )
        durations = (
            Conversation.select(
                rsql.seconds_between(first.c.first_at, Conversation.created_at).alias("d")
            )
            .join(first, on=(first.c.cid == Conversation.id))
            .where(self._in_period(Conversation.created_at), *self.where)
        )
        count, ranks = rsql.percentiles(durations)
        return {
            "answered": count,
            "unanswered": created - count,
            "median_seconds": ranks[50],
            "p90_seconds": ranks[90],
            "hours": HOURS,
        }

    def resolution(self) -> dict[str, Any]:
        durations = self._resolved(
            rsql.seconds_between(SQL("done.done_at"), Conversation.created_at).alias("d")
        )
        count, ranks = rsql.percentiles(durations)
        series = self._series(self._resolved(fn.COUNT(Conversation.id)), SQL("done.done_at"))
        return {
            "resolved": count,
            "series": series,
            "median_seconds": ranks[50],
            "p90_seconds": ranks[90],
            "hours": HOURS,
        }

    def backlog(self) -> dict[str, Any]:
        """Open and pending at the end of each bucket: every conversation created so far
        starts open; each recorded change moves one between the statuses. Summed per bucket
        in the database, then added up over the buckets here."""
        before = Case(None, [(Conversation.created_at < self.start, "before")], None)
        created = dict(
            Conversation.select(
                fn.COALESCE(before, rsql.bucket(Conversation.created_at, self.sc.step))
                .coerce(False)
                .alias("k"),
                fn.COUNT(Conversation.id),
            )
            .where(Conversation.created_at < self.end, *self.where)
            .group_by(SQL("k"))
            .tuples()
        )

        def moved(status: str) -> peewee.Node:
            into = Case(None, [(StatusChange.new_status == status, 1)], 0)
            return fn.SUM(into - Case(None, [(StatusChange.old_status == status, 1)], 0))

        early = Case(None, [(StatusChange.changed_at < self.start, "before")], None)
        changes = {
            k: (int(o or 0), int(p or 0))
            for k, o, p in StatusChange.select(
                fn.COALESCE(early, rsql.bucket(StatusChange.changed_at, self.sc.step))
                .coerce(False)
                .alias("k"),
                moved("open"),
                moved("pending"),
            )
            .join(Conversation, on=(StatusChange.conversation == Conversation.id))
            .where(StatusChange.changed_at < self.end, *self.where)
            .group_by(SQL("k"))
            .tuples()
        }
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

    def _time(self, *values: peewee.Node) -> peewee.SelectQuery:
        where = [w for w in self.where if not _is_assignee(w)]
        if self.sc.agent:
            where.append(TimeEntry.agent == self.sc.agent)
        return (
            TimeEntry.select(*values)
            .join(Conversation, on=(TimeEntry.conversation == Conversation.id))
            .where(self._in_period(TimeEntry.started_at), *where)
        )

    def time_spent(self) -> dict[str, Any]:
        series = self._series(self._time(fn.SUM(TimeEntry.seconds)), TimeEntry.started_at)
        return {"total_seconds": sum(series), "series": series}

    def breakdown(self, by: str) -> list[dict[str, Any]]:
        """New conversations, replies, resolved and time spent per agent (the conversation's
        assignee; replies: who wrote them; time: who spent it), organization or channel."""
        key = {
            "agent": Conversation.assignee,
            "organization": Contact.organization,
            "channel": Conversation.channel,
        }[by]
        time_key = TimeEntry.agent if by == "agent" else key
        reply_key = Message.agent if by == "agent" else key

        def counted(query: peewee.SelectQuery, group: peewee.Node) -> dict[Any, int]:
            if by == "organization":
                query = query.join(
                    Contact, peewee.JOIN.LEFT_OUTER, on=(Conversation.contact == Contact.id)
                )
            rows = query.select_extend(group.alias("g")).group_by(SQL("g")).tuples()
            return {g: int(n or 0) for n, g in rows}

        new = counted(
            Conversation.select(fn.COUNT(Conversation.id)).where(
                self._in_period(Conversation.created_at), *self.where
            ),
            key,
        )
        replies = counted(self._replies(fn.COUNT(Message.id)), reply_key)
        resolved = counted(self._resolved(fn.COUNT(Conversation.id)), key)
        spent = counted(self._time(fn.SUM(TimeEntry.seconds)), time_key)
        names = _names(by, {*new, *replies, *resolved, *spent})
        rows = [
            {
                by: names.get(k, k),
                "new": new.get(k, 0),
                "replies": replies.get(k, 0),
                "resolved": resolved.get(k, 0),
                "time_seconds": spent.get(k, 0),
            }
            for k in {*new, *replies, *resolved, *spent}
        ]
        return sorted(rows, key=lambda r: (r[by] is None, str(r[by] or "")))

    def _resolved(self, *values: peewee.Node) -> peewee.SelectQuery:
        """Over the conversations resolved or closed now whose last change to resolved or
        closed (`done.done_at`) is in the period."""
        done = (
            StatusChange.select(
                StatusChange.conversation.alias("cid"),
                fn.MAX(StatusChange.changed_at).alias("done_at"),
            )
            .where(StatusChange.new_status.in_(DONE))
            .group_by(StatusChange.conversation)
            .alias("done")
        )
        return (
            Conversation.select(*values)
            .join(done, on=(done.c.cid == Conversation.id))
            .where(
                Conversation.status.in_(DONE),
                (done.c.done_at >= self.start) & (done.c.done_at < self.end),
                *self.where,
            )
        )


def _is_assignee(expression: peewee.Expression) -> bool:
    return getattr(expression, "lhs", None) is Conversation.assignee


def _names(by: str, keys: Iterable[Any]) -> dict[Any, str]:
    """Channels and organizations by name (ids are the desk's business); agents are shown by
    their handle already."""
    ids = [k for k in keys if k is not None]
    if by == "channel" and ids:
        return dict(Channel.select(Channel.id, Channel.name).where(Channel.id.in_(ids)).tuples())
    if by == "organization" and ids:
        query = Organization.select(Organization.id, Organization.name)
        return dict(query.where(Organization.id.in_(ids)).tuples())
    return {}
