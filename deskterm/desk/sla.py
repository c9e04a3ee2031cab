"""Each conversation's SLA clock: which target runs, when it is due, when it is due soon.

The due time is stored on the conversation whenever something that moves it changes (a mail
arrives, an agent replies, the status or priority is set, a policy is added or removed), so
the list sorts and marks 100,000 conversations by due time without computing a row on read.
`plan` is the rule, a pure function; `refresh` applies it to stored conversations.

The clock starts when the conversation arrives on the desk (not at its mail's Date: a first
sync of last week's mail must not start breached), and never before the policy existed.
The first-response target runs until an agent's reply is queued (an automatic
acknowledgement is no response), then the resolution target. The clock stops while the
conversation is resolved or closed, and while it is pending when the policy says so
(waiting for the customer); stopped time is added to the target when it runs again,
counted in the policy's calendar. A reopened conversation therefore keeps what it used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from peewee import fn

from deskterm import settings
from deskterm.desk import sla_policies
from deskterm.store.bulk import RowWriter, select_in
from deskterm.store.db import database, utcnow
from deskterm.store.models import Agent, Conversation, ConversationType, Message, Outbox, SlaPolicy

# What `plan` decides, written back to the conversation.
COLUMNS = [
    "sla_policy",
    "sla_paused_since",
    "sla_paused_seconds",
    "due_at",
    "due_target",
    "warn_at",
    "sla_alert_at",
]
# What it reads besides them.
_READ = [
    "id",
    "status",
    "priority",
    "channel",
    "created_at",
    "sla_started_at",
    "first_response_at",
    "conversation_type",
    *COLUMNS,
]
STOPPED = ("resolved", "closed")  # the clock never runs there
TARGET_WORDS = {"first_response": "first response", "resolution": "resolution"}
NOTICE_STATES = {"warning": "is due soon", "breach": "is breached"}  # $sla_state per notice


@dataclass(frozen=True)
class Clock:
    """One conversation's clock as stored."""

    status: str
    priority: str
    channel: int
    started_at: datetime
    first_response_at: datetime | None = None
    paused_since: datetime | None = None
    paused_seconds: int = 0
    conversation_type: str | None = None  # its type's name: a policy may be for one type


def plan(clock: Clock, policy: SlaPolicy | None, now: datetime) -> dict[str, Any]:
    """The clock's columns after `now`: the policy (None: no target runs), stopped time
    counted in, and the running target's due, warning and next-look times."""
    nothing: dict[str, Any] = {"due_at": None, "due_target": None, "warn_at": None}
    if policy is None:
        return {
            "sla_policy": None,
            "sla_paused_since": None,
            "sla_paused_seconds": clock.paused_seconds,
            **nothing,
            "sla_alert_at": None,
        }
    calendar = sla_policies.calendar_of(policy)
    start = max(clock.started_at, policy.created_at)
    stopped = clock.status in STOPPED or (clock.status == "pending" and policy.pause_when_pending)
    paused_since, paused_seconds = clock.paused_since, clock.paused_seconds
    if stopped and paused_since is None:
        paused_since = now
    elif not stopped and paused_since is not None:
        paused_seconds += int(calendar.between(max(paused_since, start), now))
        paused_since = None
    result: dict[str, Any] = {
        "sla_policy": policy.id,
        "sla_paused_since": paused_since,
        "sla_paused_seconds": paused_seconds,
        **nothing,
        "sla_alert_at": None,
    }
    target, minutes = running_target(clock, policy)
    if stopped or target is None or minutes is None:
        return result
    due = calendar.add(start, minutes * 60 + paused_seconds)
    warn = due - timedelta(minutes=policy.warn_minutes) if policy.warn_minutes else None
    result.update(due_at=due, due_target=target, warn_at=warn, sla_alert_at=warn or due)
    return result


def running_target(clock: Clock, policy: SlaPolicy) -> tuple[str | None, int | None]:
    """The target the clock runs for: first response until an agent replied, then resolution."""
    if clock.first_response_at is None and policy.first_response_minutes:
        return "first_response", policy.first_response_minutes
    if policy.resolution_minutes:
        return "resolution", policy.resolution_minutes
    return None, None


def refresh(conversation_ids: Iterable[int], now: datetime | None = None) -> int:
    """Set these conversations' clocks by the policies in force at `now` (default: this
    moment), in the caller's transaction; returns how many changed. Nothing is read when the
    desk has no policy: removing the last one cleared every clock (`remove_policy`)."""
    policies = list(SlaPolicy.select())
    if not policies:
        return 0
    return _apply(select_in(Conversation, _READ, "id", list(conversation_ids)), policies, now)


def refresh_all(now: datetime | None = None) -> int:
    """Every conversation's clock, after the policies changed (a few seconds at 100,000)."""
    policies = list(SlaPolicy.select())
    columns = ", ".join(f'"{Conversation._meta.fields[c].column_name}"' for c in _READ)
    changed = 0
    last = 0
    while True:
        rows = database.execute_sql(
            f'SELECT {columns} FROM "conversation" WHERE "id" > {database.param} '
            f'ORDER BY "id" LIMIT 2000',
            [last],
        ).fetchall()
        if not rows:
            return changed
        last = int(rows[-1][0])
        changed += _apply(rows, policies, now)


def add_policy(name: str, terms: sla_policies.Terms) -> SlaPolicy:
    """Define a policy (sla_policies.create) and set every clock by it, as one change."""
    with database.atomic():
        policy = sla_policies.create(name, terms)
        refresh_all()
    return policy


def replace_policy(old_name: str, name: str, terms: sla_policies.Terms) -> SlaPolicy:
    """Change a policy (the desk's editor): the old one goes and the new one is made, each
    checked as `add_policy` checks it, and every clock set again, as one change, so a
    refused edit leaves the old policy in force."""
    with database.atomic():
        sla_policies.get(old_name).delete_instance()
        policy = sla_policies.create(name, terms)
        refresh_all()
    return policy


def remove_policy(name: str) -> None:
    with database.atomic():
        sla_policies.get(name).delete_instance()
        refresh_all()


def first_response(conversation_id: int, when: datetime) -> None:
    """An agent's reply was queued: the first-response target is met (once), and the clock
    moves on to resolution. Called in the reply's transaction."""
    Conversation.update(first_response_at=when).where(
        (Conversation.id == conversation_id) & Conversation.first_response_at.is_null()
    ).execute()
    refresh([conversation_id], when)


def recount_first_response(conversation_id: int) -> None:
    """The first response again from the conversation's replies that were not cancelled:
    after a reply is cancelled (it never reached the customer, so it answered nothing) or
    queued again, the target is met by the earliest reply still going out, or not yet."""
    first = Message.date.python_value(
        Message.select(fn.MIN(Message.date))
        .join(Outbox, on=(Outbox.message == Message.id))
        .where(
            (Message.conversation == conversation_id)
            & (Message.direction == "out")
            & (Outbox.kind == "reply")
            & (Outbox.state != "cancelled")
        )
        .scalar()
    )
    Conversation.update(first_response_at=first).where(Conversation.id == conversation_id).execute()
    refresh([conversation_id])


def _apply(rows: list[tuple[Any, ...]], policies: list[SlaPolicy], now: datetime | None) -> int:
    fields = [Conversation._meta.fields[name] for name in _READ]
    moment = now or utcnow()
    changes: list[tuple[int, dict[str, object]]] = []
    # Policies name a type (`sla add --type`); rows hold its id: one small read per batch.
    type_names = (
        dict(ConversationType.select(ConversationType.id, ConversationType.name).tuples())
        if any(p.conversation_type for p in policies)
        else {}
    )
    for raw in rows:
        row = {f.name: f.python_value(v) for f, v in zip(fields, raw, strict=True)}
        clock = Clock(
            status=row["status"],
            priority=row["priority"],
            channel=row["channel"],
            started_at=row["sla_started_at"] or row["created_at"],
            first_response_at=row["first_response_at"],
            paused_since=row["sla_paused_since"],
            paused_seconds=row["sla_paused_seconds"] or 0,
            conversation_type=type_names.get(row["conversation_type"]),
        )
        policy = sla_policies.matching(
            policies, clock.priority, clock.channel, clock.conversation_type
        )
        after = plan(clock, policy, moment)
        if any(after[c] != row[c] for c in COLUMNS):
            changes.append((row["id"], after))
    RowWriter(Conversation, COLUMNS).update_many(changes)
    return len(changes)


# --- reading -------------------------------------------------------------------------------


def breached(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at <= now


def due_soon(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> bool:
    return (
        due_at is not None and not breached(due_at, now) and warn_at is not None and warn_at <= now
    )


def state(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str | None:
    """breached, due_soon, running, or None (no target runs): the list's marker, the JSON's."""
    if due_at is None:
        return None
    if breached(due_at, now):
        return "breached"
    return "due_soon" if due_soon(due_at, warn_at, now) else "running"


# --- the notices' words --------------------------------------------------------------------
# What the `sla_warning` template is filled with: the worker's real notices
# (outbound/sla_notices.py) and a preview against a conversation (desk/templates.py) share
# these, so a preview shows what would be mailed.


def notice_values(
    due_at: datetime, target: str, kind: str, policy_id: int | None
) -> dict[str, str]:
    """$due_at (in the policy's time zone), $sla_target and $sla_state for the notice of
    `kind` (warning or breach) about a target due at `due_at`."""
    return {
        "due_at": local_time(due_at, zone_of(policy_id)),
        "sla_target": TARGET_WORDS.get(target, target),
        "sla_state": NOTICE_STATES[kind],
    }


def conversation_notice_values(conversation: Conversation, now: datetime) -> dict[str, str]:
    """The values of the notice this conversation's stored clock would send next: the breach
    notice once it is past due, else the warning; {} when no target runs."""
    if conversation.due_at is None or conversation.due_target is None:
        return {}
    kind = "breach" if breached(conversation.due_at, now) else "warning"
    policy = conversation.sla_policy
    return notice_values(conversation.due_at, conversation.due_target, kind, policy)


def due_local(conversation: Conversation) -> str | None:
    """The conversation's due time as its notices write it (the thread's due line says the
    same); None when no target runs."""
    if conversation.due_at is None:
        return None
    return local_time(conversation.due_at, zone_of(conversation.sla_policy))


def zone_of(policy_id: int | None) -> str:
    """The time zone of a policy (its calendar's): the one due times are told in."""
    policy = SlaPolicy.get_or_none(SlaPolicy.id == policy_id) if policy_id else None
    return str(policy.timezone) if policy is not None else "UTC"


def local_time(moment: datetime, zone: str) -> str:
    """A stored (naive UTC) moment as the notices write it: `2026-12-04 17:00 Europe/Paris`."""
    local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def notice_recipient(assignee: str | None) -> str:
    """Whom a notice goes to: the assignee's address, else the team's (DESKTERM_NOTIFY_TO),
    else "" (nobody)."""
    if assignee:
        agent = Agent.get_or_none(Agent.handle == assignee)
        if agent is not None and agent.email:
            return str(agent.email)
    return settings.current().notify_to or ""


def recipient_name(recipient: str) -> str:
    """The name a notice greets (`$agent_name`): the agent with that address, else the team."""
    agent = Agent.get_or_none(Agent.email == recipient) if recipient else None
    return str(agent.name) if agent is not None else "the team"
