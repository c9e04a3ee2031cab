"""Each change of a conversation's status, kept: reports need the status over time (the
backlog of open and pending conversations on each day, when a conversation was resolved),
and the conversation row holds only its status now.

The three places that move a status (desk/status.py: ingest when the customer writes, the
outbox when an agent replies, triage when an agent sets it) each record their change here,
in the transaction that makes it. A new conversation records nothing: it is open from its
`created_at`, which the reports count from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from deskterm.desk import agents
from deskterm.errors import DeskError
from deskterm.store.db import utcnow
from deskterm.store.models import StatusChange

# The statuses that count as work waiting: the backlog.
BACKLOG = ("open", "pending")
# The statuses that end a conversation: the resolution time runs until the last move here.
DONE = ("resolved", "closed")


def record(
    conversation_id: int,
    old: str,
    new: str,
    *,
    agent: str | None = None,
    at: datetime | None = None,
) -> None:
    """Keep one change (nothing when the status stayed the same)."""
    if old != new:
        StatusChange.insert(
            conversation=conversation_id,
            old_status=old,
            new_status=new,
            agent=agent,
            changed_at=at or utcnow(),
        ).execute()


def by_whom() -> str | None:
    """The handle of the agent at this keyboard, if the desk knows one: a change is recorded
    whoever makes it, so an unknown DESKTERM_AGENT leaves it unattributed, never refused."""
    try:
        agent = agents.current()
    except DeskError:
        return None
    return agent.handle if agent is not None else None


def record_many(changes: Iterable[tuple[int, str, str, datetime]]) -> None:
    """Keep a batch's changes, (conversation id, old, new, when), in one statement: what
    ingest writes when customers' answers reopen conversations."""
    rows = [
        {"conversation": cid, "old_status": old, "new_status": new, "changed_at": when}
        for cid, old, new, when in changes
        if old != new
    ]
    if rows:
        StatusChange.insert_many(rows).execute()


def of_conversation(conversation_id: int) -> list[dict[str, object]]:
    """A conversation's changes, oldest first."""
    query = (
        StatusChange.select()
        .where(StatusChange.conversation == conversation_id)
        .order_by(StatusChange.changed_at, StatusChange.id)
    )
    return [
        {"old": c.old_status, "new": c.new_status, "agent": c.agent, "at": c.changed_at}
        for c in query
    ]
