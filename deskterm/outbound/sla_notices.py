"""SLA warnings and breach notices: mailed once per target to the assignee (or the team
address) through the desk's own SMTP account, from the `sla_warning` template.

The worker that holds the desk's SLA duty (engine/leadership.py: the only worker of a SQLite
desk; on a team desk whoever holds the desk-wide advisory lock) calls `run_pass` at each pass
of its loop. Each notice goes through three committed states, so that a worker killed at any
point neither misses one nor sends one twice:

- `queued`: claimed, before any SMTP. The row is unique per (conversation, target, kind),
  so two workers can never both claim it. A worker killed now left nothing on the wire: the
  next pass sends it.
- `sending`: written once the SMTP server has taken the sender and recipient, right before the
  message itself goes. A worker killed now may or may not have delivered it, so it is never
  sent again: `recover` marks it failed, saying it may not have arrived (`sla notices`).
  That window is the SMTP DATA exchange alone.
- `sent` (or back to `queued` for a later try when the server refused, `failed` after
  MAX_ATTEMPTS or when nobody can be told).

Which conversations need a look is stored on them (`sla_alert_at`, set by desk/sla.py: the
warning time, then the due time), so a pass reads an index range, not every open row.
A warning is only sent before its target is due: a worker that was stopped past the due
time sends the breach notice alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from deskterm import settings
from deskterm.desk import sla, templates
from deskterm.errors import DeskError
from deskterm.mail import addresses, compose
from deskterm.outbound import notify
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import Conversation, SlaNotice

log = logging.getLogger(__name__)

BATCH = 100  # conversations looked at, and notices sent, per pass
MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(minutes=1)  # doubles per failed try, capped at an hour
INTERRUPTED = (
    "the worker stopped while the SMTP server was taking it: it may not have arrived, and "
    "is not sent again so that it cannot arrive twice"
)


def enabled() -> bool:
    """Whether this machine can send them: the desk's own SMTP server is configured."""
    return settings.current().smtp_configured


def run_pass(now: datetime | None = None) -> int:
    """Claim what has fallen due and send what is queued; returns how many were sent."""
    moment = now or utcnow()
    claim_due(moment)
    return deliver(moment)


def claim_due(now: datetime) -> None:
    """Queue the notices whose time has come, each conversation in a transaction of its own;
    one already told of this target's state (the row exists) is just moved on."""
    rows = list(
        Conversation.select(
            Conversation.id,
            Conversation.due_at,
            Conversation.warn_at,
            Conversation.due_target,
            Conversation.sla_alert_at,
            Conversation.assignee,
        )
        .where(Conversation.sla_alert_at <= now)
        .order_by(Conversation.sla_alert_at)
        .limit(BATCH)
    )
    for row in rows:
        kind = _kind(row, now)
        with database.atomic():
            if kind is not None:
                SlaNotice.insert(
                    conversation=row.id,
                    target=row.due_target,
                    kind=kind,
                    due_at=row.due_at,
                    recipient=sla.notice_recipient(row.assignee),
                    state="queued",
                    next_attempt_at=now,
                ).on_conflict_ignore().execute()
            after = row.due_at if kind == "warning" else None
            # Only if nothing set the clock meanwhile (a reply, a status): that wins.
            Conversation.update(sla_alert_at=after).where(
                (Conversation.id == row.id) & (Conversation.sla_alert_at == row.sla_alert_at)
            ).execute()


def _kind(row: Conversation, now: datetime) -> str | None:
    if row.due_at is None or row.due_target is None:
        return None
    if sla.breached(row.due_at, now):
        return "breach"
    return "warning" if row.warn_at is not None and row.warn_at <= now else None


def deliver(now: datetime) -> int:
    """Send the queued notices that are due; returns how many were sent."""
    queued = list(
        SlaNotice.select()
        .where((SlaNotice.state == "queued") & (SlaNotice.next_attempt_at <= now))
        .order_by(SlaNotice.id)
        .limit(BATCH)
    )
    sent = 0
    for notice in queued:
        sent += _send_one(notice, now)
    return sent


def _send_one(notice: SlaNotice, now: datetime) -> int:
    if not notice.recipient:
        _finish(
            notice, "failed", "nobody to tell: assign the conversation or set DESKTERM_NOTIFY_TO"
        )
        return 0
    try:
        message, envelope = _message(notice)
        notify.send_system_mail(message, lambda: _finish(notice, "sending"), envelope)
    except DeskError as exc:
        _retry(notice, str(exc), now)
        return 0
    except Exception as exc:  # a refused DATA, a dropped connection: the server said no
        log.warning("SLA notice %s not sent", notice.id, exc_info=True)
        _retry(notice, f"{type(exc).__name__}: {exc}", now)
        return 0
    _finish(notice, "sent", message_id=str(message["Message-ID"]))
    return 1


def _message(notice: SlaNotice) -> tuple[Any, notify.Envelope]:
    conversation = Conversation.get_by_id(notice.conversation_id)
    name = sla.recipient_name(notice.recipient)
    values = sla.notice_values(notice.due_at, notice.target, notice.kind, conversation.sla_policy)
    body = templates.fill_sla_warning(conversation, name, values)
    what = "breached" if notice.kind == "breach" else "due soon"
    subject = (
        f"SLA {what}: #{conversation.id} {sla.TARGET_WORDS.get(notice.target, notice.target)} "
        f"- {compose.base_subject(conversation.subject)}"
    )
    sender = notify.sender()
    from_address = addresses.parse_one(sender)
    if from_address is None:
        raise DeskError(
            f"{sender!r} cannot send SLA notices (not an address other servers accept); set "
            "SMTP_FROM to the desk's own, e.g. SMTP_FROM='Support <support@example.com>'."
        )
    message = compose.notice(sender, (name, notice.recipient), subject, body)
    return message, (from_address[1], notice.recipient)


def _finish(notice: SlaNotice, state: str, error: str | None = None, **more: Any) -> None:
    """Commit the notice's new state at once (outside any caller's transaction)."""
    with database.atomic():
        values: dict[str, Any] = {"state": state, "error": error, **more}
        if state == "sent":
            values["sent_at"] = utcnow()
        SlaNotice.update(values).where(SlaNotice.id == notice.id).execute()


def _retry(notice: SlaNotice, error: str, now: datetime) -> None:
    attempts = notice.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _finish(notice, "failed", error, attempts=attempts)
        return
    delay = min(RETRY_BASE * 2 ** (attempts - 1), timedelta(hours=1))
    _finish(notice, "queued", error, attempts=attempts, next_attempt_at=now + delay)


def recover() -> int:
    """What a killed worker left `sending` (the SMTP DATA exchange cut off) is marked failed,
    never sent again; run by the worker that takes the SLA duty. Returns how many."""
    return (
        SlaNotice.update(state="failed", error=INTERRUPTED)
        .where(SlaNotice.state == "sending")
        .execute()
    )


def recent(limit: int = 100) -> list[dict[str, Any]]:
    """The latest notices, newest first, as `deskterm sla notices --json` gives them."""
    rows = SlaNotice.select().order_by(SlaNotice.id.desc()).limit(limit)
    return [
        {
            "conversation": n.conversation_id,
            "target": n.target,
            "kind": n.kind,
            "due_at": iso(n.due_at),
            "recipient": n.recipient,
            "state": n.state,
            "attempts": n.attempts,
            "error": n.error,
            "created_at": iso(n.created_at),
            "sent_at": iso(n.sent_at),
        }
        for n in rows
    ]
