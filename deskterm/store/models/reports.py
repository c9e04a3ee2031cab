"""What the reports count that the conversation rows do not keep (v14): each status change
and the time agents spent. Agents are kept as handles, not references, so a removed agent's
work still counts."""

from __future__ import annotations

import peewee

from deskterm.store.db import database, utcnow
from deskterm.store.models.base import BaseModel
from deskterm.store.models.mail import Conversation


class StatusChange(BaseModel):
    """A conversation's status as it changed: what the reports' backlog (open and pending over
    time) and resolution times are computed from, since the conversation row only holds its
    status now. A new conversation has no row: it is open from its `created_at`. `agent` is
    the handle of who set it (None: the customer's mail, a worker, or a desk without agents)."""

    conversation = peewee.ForeignKeyField(
        Conversation, backref="status_changes", on_delete="CASCADE"
    )
    old_status = peewee.CharField()
    new_status = peewee.CharField()
    agent = peewee.CharField(null=True)
    changed_at = peewee.DateTimeField(default=utcnow, index=True)


class TimeEntry(BaseModel):
    """Time an agent spent on a conversation: measured by the app while its thread or composer
    has the keyboard (`source` "clock", one row per stretch, rewritten as it grows) or logged
    by hand (`source` "manual", `deskterm time add`). `started_at` places it in a report's
    period."""

    conversation = peewee.ForeignKeyField(Conversation, backref="time_entries", on_delete="CASCADE")
    agent = peewee.CharField(null=True, index=True)  # a handle; None on a desk without agents
    seconds = peewee.IntegerField()
    # Indexed with what a report reads of each entry (time_entry_report, v20).
    started_at = peewee.DateTimeField(default=utcnow)
    source = peewee.CharField(default="manual")  # clock | manual
    note = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)


class ReportHours(peewee.Model):
    """A business-hours policy's opening hours over a report's span, with the counted
    seconds before each (desk/report_sla.Counter): a temporary table of the connection that
    makes the report, so never one of the desk's tables (not in ALL_MODELS). Its times are
    DateTimeFields like the desk's, so they compare with them on either engine."""

    policy = peewee.IntegerField()
    opens = peewee.DateTimeField()
    closes = peewee.DateTimeField()
    before_s = peewee.BigIntegerField()

    class Meta:
        database = database
        table_name = "report_hours"
        primary_key = False
        indexes = ((("policy", "opens"), False),)


class Outcome(BaseModel):
    """A conversation's reached targets as reports count them (desk/report_outcomes.py): the
    seconds from its creation to its first response and to its resolution (in business hours
    where its SLA policy has a calendar), and whether each met its SLA target. Counting them
    costs a calendar lookup per moment, so a report counts each conversation once and keeps
    the result here, with what it was counted from (`policy`, `policy_at`, `first_at`,
    `done_at`, `paused`: what a reader checking a number by hand needs); the database marks
    a conversation whose row is out of date (store/outcome_stale.py, triggers), so no write
    path has to remember to, and the next report counts it again.

    Every conversation has a row, with what a report groups and filters it by kept beside
    (its creation, whether it is resolved or closed now, its assignee, its contact's
    organization, its channel and type, its running target's due time): a report
    then reads this one table, and on SQLite walks its indexes (v20) to each percentile
    instead of sorting the durations once per breakdown key."""

    conversation = peewee.ForeignKeyField(
        Conversation, primary_key=True, backref="outcome", on_delete="CASCADE"
    )
    policy = peewee.IntegerField(null=True)  # the SLA policy it was counted under
    # ... and when that policy was made: an edited policy is a new one, which on SQLite may
    # reuse the old one's id (deleted, then made again), so the id alone would not tell.
    policy_at = peewee.DateTimeField(null=True)
    first_at = peewee.DateTimeField(null=True)  # the first response (first_response_at)
    done_at = peewee.DateTimeField(null=True)  # the last change to resolved or closed
    paused = peewee.IntegerField(null=True)  # the clock's stopped seconds then
    first_seconds = peewee.IntegerField(null=True)
    first_late = peewee.BooleanField(null=True)  # None: no first-response target counted
    done_seconds = peewee.IntegerField(null=True)
    done_late = peewee.BooleanField(null=True)  # None: no resolution target counted
    created_at = peewee.DateTimeField(null=True)
    done = peewee.BooleanField(null=True)  # resolved or closed now
    assignee = peewee.CharField(null=True)
    organization = peewee.IntegerField(null=True)
    channel = peewee.IntegerField(null=True)
    conversation_type = peewee.IntegerField(null=True, column_name="type_id")
    # The target its clock runs to now and when it falls due: the unreached ones counted as
    # breached once due (report_sla).
    due_at = peewee.DateTimeField(null=True)
    due_target = peewee.CharField(null=True)

    class Meta:
        table_name = "conversation_outcome"
