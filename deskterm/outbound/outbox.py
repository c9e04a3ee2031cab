"""The durable outbox: replies are committed before any network I/O and kept until accepted.

States: queued -> sending -> sent, or back to queued (temporary failure, retried with
exponential backoff) or failed (permanent failure, with the server's answer). A reply is
marked `sent` in the same moment the server's acceptance is known. The one unavoidable window:
if the process dies after the server accepted the message but before that commit, the item
is still `sending`; on the next start it is queued again and may be delivered twice. Nothing
queued is ever lost.

This module owns those states and every change to them: claiming an item to send, the
backoff after a failure, and what an agent can do (retry, cancel, list). What is queued is
built by `replies` (and `acks`); `delivery` sends it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from deskterm.channels.typed import OutboundConfig
from deskterm.desk import sla
from deskterm.errors import DeskError
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import Channel, Message, Outbox

BACKOFF_CAP_SECONDS = 3600


class OutboxError(DeskError):
    """A reply that cannot be queued as asked (nothing was queued)."""


# --- state changes ----------------------------------------------------------------------


def recover_interrupted(channel: Channel | None = None) -> int:
    """Items left `sending` by a process that died: queue them again (see module doc).

    Only a worker that now holds the lead (the desk's, or on a team desk the `channel`'s)
    may call this: no other sender can be sending them then.
    """
    query = Outbox.update(state="queued", next_attempt_at=utcnow()).where(Outbox.state == "sending")
    if channel is not None:
        query = query.where(Outbox.channel == channel.id)
    return query.execute()


def claim(item: Outbox) -> bool:
    """queued -> sending, only if still queued: two senders never take the same reply."""
    with database.atomic():
        taken = (
            Outbox.update(state="sending", attempts=Outbox.attempts + 1)
            .where(Outbox.id == item.id, Outbox.state == "queued")
            .execute()
        )
        if taken:
            Message.update(state="sending").where(Message.id == item.message_id).execute()
    if taken:
        item.state, item.attempts = "sending", item.attempts + 1
    return bool(taken)


def set_state(item: Outbox, state: str, **fields: Any) -> None:
    """Outbox and message state change together, committed at once."""
    with database.atomic():
        for name, value in fields.items():
            setattr(item, name, value)
        item.state = state
        item.save()
        error = fields.get("last_error", item.last_error) if state != "sent" else None
        Message.update(state=state, error=error).where(Message.id == item.message_id).execute()


def after_failure(
    item: Outbox, temporary: bool, detail: str, outbound: OutboundConfig
) -> tuple[str, str]:
    """A failed attempt: queued again with exponential backoff while a temporary failure has
    attempts left, else failed; returns the new state and the sentence that says why."""
    if temporary and item.attempts < outbound.max_attempts:
        delay = min(outbound.retry_base_seconds * 2 ** (item.attempts - 1), BACKOFF_CAP_SECONDS)
        when = utcnow() + timedelta(seconds=delay)
        set_state(item, "queued", next_attempt_at=when, last_error=detail)
        return "queued", f"{detail} (will retry at {when:%H:%M:%S} UTC)"
    if temporary:
        detail = f"{detail} (gave up after {item.attempts} attempts)"
    set_state(item, "failed", last_error=detail)
    return "failed", detail


# --- administration ---------------------------------------------------------------------


def retry(outbox_id: int) -> Outbox:
    item = _item(outbox_id)
    if item.state not in ("failed", "queued", "cancelled"):
        raise OutboxError(
            f"Outbox item {outbox_id} is {item.state}; only failed, queued or "
            "cancelled items can be retried."
        )
    was = item.state
    with database.atomic():
        set_state(item, "queued", next_attempt_at=utcnow(), attempts=0, last_error=None)
        if was == "cancelled":
            _first_response_again(item)
    return item


def cancel(outbox_id: int) -> Outbox:
    item = _item(outbox_id)
    if item.state not in ("queued", "failed"):
        raise OutboxError(
            f"Outbox item {outbox_id} is {item.state}; only queued or failed "
            "items can be cancelled."
        )
    with database.atomic():
        set_state(item, "cancelled")
        _first_response_again(item)
    return item


def _first_response_again(item: Outbox) -> None:
    """A reply cancelled or queued again moves its conversation's first response (the SLA
    clock's, and the reports')."""
    if item.kind == "reply":
        sla.recount_first_response(item.message.conversation_id)


def _item(outbox_id: int) -> Outbox:
    item = Outbox.get_or_none(Outbox.id == outbox_id)
    if item is None:
        raise OutboxError(f"There is no outbox item {outbox_id}; `deskterm outbox` lists them.")
    return item


def listing(include_sent: bool = False) -> list[dict[str, Any]]:
    # One query: the message and channel of every item come joined, not one lookup each.
    query = (
        Outbox.select(Outbox, Message, Channel)
        .join(Message)
        .switch(Outbox)
        .join(Channel)
        .order_by(Outbox.id)
    )
    if not include_sent:
        query = query.where(Outbox.state.in_(["queued", "sending", "failed"]))
    return [
        {
            "id": item.id,
            "conversation": item.message.conversation_id,
            "channel": item.channel.name,
            "kind": item.kind,
            "to": item.message.to,
            "subject": item.message.subject,
            "state": item.state,
            "attempts": item.attempts,
            "next_attempt_at": iso(item.next_attempt_at) if item.state == "queued" else None,
            "error": item.last_error,
            "created_at": iso(item.created_at),
            "sent_at": iso(item.sent_at),
        }
        for item in query
    ]
