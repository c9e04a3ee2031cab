"""Each conversation's reached targets, counted once for the reports and kept
(store/models/reports.py `Outcome`): the seconds from its creation to its first response and
to its resolution, in business hours where its SLA policy has a calendar, and whether each met
its SLA target.

Counting a moment in business hours is a lookup in the calendar's opening hours
(report_sla.Counter); a year's report at 100,000 conversations made eight per conversation,
each time it was drawn. Now `bring_up_to_date` counts, in one INSERT ... SELECT, only the
conversations whose row is missing or whose inputs changed since (its first response, its
policy and when it was made, its last resolution, its clock's stopped time: each row keeps
what it was counted from), and the report's sections read the rows. Each row also keeps what
a report groups and filters its conversation by (its creation, whether it is resolved or
closed now, assignee, organization, channel, type, its running target's due time), compared
the same way, so the sections
read this one table without joining the conversations and their contacts. Nothing else writes or
clears them: a reply, a status change, a policy edited on another machine are all seen by the
comparison, so no write path can forget to. Two reports at once on a team desk write the same
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
from deskterm.store import dialect
from deskterm.store.db import database
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
    """Count the conversations whose outcome is missing or out of date; returns how many."""
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
    kept = Outcome.alias("kept")
    changed = (
        kept.conversation.is_null()
        | dialect.differs(kept.policy, Conversation.sla_policy)
        | dialect.differs(kept.policy_at, SlaPolicy.created_at)
        | dialect.differs(kept.first_at, first_at)
        | dialect.differs(kept.done_at, done_at)
        | dialect.differs(kept.paused, paused)
        | dialect.differs(kept.created_at, created)
        | dialect.differs(kept.done, done_now)
        | dialect.differs(kept.assignee, Conversation.assignee)
        | dialect.differs(kept.organization, Contact.organization)
        | dialect.differs(kept.channel, Conversation.channel)
        | dialect.differs(kept.conversation_type, Conversation.conversation_type)
        | dialect.differs(kept.due_at, Conversation.due_at)
        | dialect.differs(kept.due_target, Conversation.due_target)
    )
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
        .join_from(
            Conversation, kept, peewee.JOIN.LEFT_OUTER, on=(kept.conversation == Conversation.id)
        )
        .where(changed)
    )
    with database.atomic():
        return int(
            Outcome.insert_from(query, COUNTED)
            .on_conflict(conflict_target=[Outcome.conversation], preserve=COUNTED[1:])
            .as_rowcount()
            .execute()
        )


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
