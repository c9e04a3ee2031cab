"""Each conversation's reached targets, counted once for the reports and kept
(store/models/reports.py `Outcome`): the seconds from its creation to its first response and
to its resolution, in business hours where its SLA policy has a calendar, and whether each met
its SLA target.

Counting a moment in business hours is a lookup in the calendar's opening hours
(report_sla.Counter); a year's report at 100,000 conversations made eight per conversation,
each time it was drawn. Now `bring_up_to_date` counts, in one INSERT ... SELECT, only the
conversations the database marked since the last report (store/outcome_stale.py: triggers
mark a conversation when anything its row is counted from changes: its first response, its
status changes, its policy, its clock, its assignee, channel, type, contact's organization,
its running target), and the report's sections read the rows. Each row also keeps what a
report groups and filters its conversation by (its creation, whether it is resolved or closed
now, assignee, organization, channel, type, its running target's due time), so the sections
read this one table without joining the conversations and their contacts. The marks are made
by the database, so no write path (another machine's, an admin's SQL) can forget them; each
row keeps what it was counted from too. Two reports at once on a team desk write the same
values (an upsert).

What counts (as before, from report_sla): a target reached before its policy existed, or with
no target, has no verdict (None); the resolution's verdict subtracts the time the clock stood
stopped.
"""

from __future__ import annotations

import peewee
from peewee import fn

from deskterm.desk import report_sla
from deskterm.desk.status_history import DONE
from deskterm.store import outcome_stale
from deskterm.store.models import Contact, Conversation, Outcome, SlaPolicy, StatusChange

COUNTED = [
    Outcome.conversation,
    Outcome.policy,
    Outcome.policy_at,
    Outcome.first_at,
    Outcome.done_at,
    Outcome.paused,
    Outcome.first_seconds,
    Outcome.first_late,
    Outcome.done_seconds,
    Outcome.done_late,
    Outcome.created_at,
    Outcome.done,
    Outcome.assignee,
    Outcome.organization,
    Outcome.channel,
    Outcome.conversation_type,
    Outcome.due_at,
    Outcome.due_target,
]


def bring_up_to_date(counter: report_sla.Counter) -> int:
    """Count the conversations marked out of date (store/outcome_stale.py); returns how many
    rows it wrote."""
    done = (
        StatusChange.select(
            StatusChange.conversation.alias("cid"),
            fn.MAX(StatusChange.changed_at).alias("done_at"),
        )
        .where(StatusChange.new_status.in_(DONE))
        .group_by(StatusChange.conversation)
        .alias("done")
    )
    first_at, done_at = Conversation.first_response_at, done.c.done_at
    created, paused = Conversation.created_at, Conversation.sla_paused_seconds
    start = report_sla.clock_start()
    first_late = _late(
        SlaPolicy.first_response_minutes, first_at, start, counter.between(first_at, start)
    )
    done_late = _late(
        SlaPolicy.resolution_minutes, done_at, start, counter.between(done_at, start) - paused
    )
    done_now = Conversation.status.in_(DONE)
    query = (
        Conversation.select(
            Conversation.id,
            Conversation.sla_policy,
            SlaPolicy.created_at,
            first_at,
            done_at,
            paused,
            _counted(counter, first_at, created),
            first_late,
            _counted(counter, done_at, created),
            done_late,
            created,
            done_now,
            Conversation.assignee,
            Contact.organization,
            Conversation.channel,
            Conversation.conversation_type,
            Conversation.due_at,
            Conversation.due_target,
        )
        .join(done, peewee.JOIN.LEFT_OUTER, on=(done.c.cid == Conversation.id))
        .join_from(
            Conversation, Contact, peewee.JOIN.LEFT_OUTER, on=(Conversation.contact == Contact.id)
        )
        .join_from(
            Conversation,
            SlaPolicy,
            peewee.JOIN.LEFT_OUTER,
            on=(SlaPolicy.id == Conversation.sla_policy),
        )
    )

    def upsert(rows: peewee.SelectQuery, *ctes: peewee.CTE) -> int:
        write = Outcome.insert_from(rows, COUNTED).on_conflict(
            conflict_target=[Outcome.conversation], preserve=COUNTED[1:]
        )
        return int(write.with_cte(*ctes).as_rowcount().execute())

    return outcome_stale.recount(query, Conversation.id, upsert)


def _counted(
    counter: report_sla.Counter, reached: peewee.Node, created: peewee.Node
) -> peewee.Node:
    """Seconds from creation to `reached`; None when it was not reached (the calendar's
    count of a missing moment would be a number)."""
    return peewee.Case(None, [(reached.is_null(False), counter.between(reached, created))], None)


def _late(
    target: peewee.Node, reached: peewee.Node, start: peewee.Node, used: peewee.Node
) -> peewee.Node:
    """Whether a target was missed: `used` (the counted seconds it took) over its minutes;
    None when there is no such target, or it was reached before the clock started (before
    its policy existed), which counts neither way."""
    counted = target.is_null(False) & (reached >= start)
    return peewee.Case(None, [(counted, used > target * 60)], None)
