"""The durable outbox: replies are committed before any network I/O and kept until accepted.

States: queued -> sending -> sent, or back to queued (temporary failure, retried with
exponential backoff) or failed (permanent failure, with the server's answer). A reply is
marked `sent` in the same moment the server's acceptance is known. The one unavoidable window:
if the process dies after the server accepted the message but before that commit, the item
is still `sending`; on the next start it is queued again and may be delivered twice. Nothing
queued is ever lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import mimetypes
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import aiosmtplib

from deskterm.channels import registry as channels
from deskterm.desk import recipients, templates
from deskterm.desk import status as lifecycle
from deskterm.errors import AuthError, DeskError, SecretError
from deskterm.mail import addresses, compose
from deskterm.mail.automail import automated_reason
from deskterm.mail.message_ids import trim_references
from deskterm.net import imap as imap_conn
from deskterm.net import smtp as smtp_conn
from deskterm.net.tls import CertificateError, explain
from deskterm.sanitize import one_line
from deskterm.store import blobs
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import (
    Attachment,
    Channel,
    Contact,
    Conversation,
    JobRun,
    Message,
    Outbox,
)

BACKOFF_CAP_SECONDS = 3600
# Acknowledgements the whole desk sends in an hour, whoever they go to: a flood of forged
# senders must not turn the desk into a mailer (Zammad caps system mail per address; we also
# cap the total).
DESK_ACKS_PER_HOUR = 100


class OutboxError(DeskError):
    """A reply that cannot be queued as asked (nothing was queued)."""


# --- queueing ---------------------------------------------------------------------------


def agent_name() -> str:
    return os.environ.get("DESKTERM_AGENT_NAME") or getpass.getuser()


def queue_reply(
    conversation_id: int,
    body: str,
    *,
    attachments: list[Path] | None = None,
    cc: list[str] | None = None,
    status: str | None = lifecycle.DEFAULT_AFTER_REPLY,
    automatic: bool = False,
    to_reply_to: bool = False,
) -> Message:
    """Check, build and commit a reply to the outbox; no network I/O happens here.

    The reply goes to the conversation's contact. The Reply-To of the answered mail is used
    only when the agent asks for it (`to_reply_to`): a stranger's mail must not redirect the
    answer silently. An automatic reply always goes to the contact.
    """
    attachments = [Path(p).expanduser() for p in attachments or []]
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    if conversation is None:
        raise OutboxError(f"There is no conversation #{conversation_id}.")
    channel: Channel = conversation.channel
    outbound = channel.settings.get("outbound")
    if not outbound:
        raise OutboxError(
            f"Channel {channel.name!r} has no [outbound] settings, so it cannot send replies; "
            f"add them with `deskterm channel edit {channel.name} --file ...`."
        )
    if not body.strip():
        raise OutboxError("The reply is empty; write something before sending.")
    check_attachments(attachments, outbound["max_attachment_bytes"])
    answered = last_inbound(conversation)
    to = recipients.reply_address(conversation, answered, to_reply_to=to_reply_to and not automatic)
    cc = [a.strip() for a in cc or [] if a.strip()]
    check_cc(cc)

    reply = compose.Reply(
        conversation_id=conversation.id,
        from_header=outbound["from"],
        to=[to],
        cc=cc,
        reply_to=outbound["reply_to"],
        subject=conversation.email_subject or conversation.subject,
        body=body,
        in_reply_to=answered.message_id if answered else None,
        references=list(conversation.references or []),
        thread_index=(answered.headers or {}).get("thread-index") if answered else None,
        attachments=attachments,
        automatic=automatic,
    )
    if answered is not None and outbound["quote_previous"] and not automatic:
        reply.quote = answered.text
        reply.quote_header = quote_header(answered)
    message = compose.build(reply)  # raises UnsafeReply (a DeskError) rather than queue it
    raw = bytes(message)
    sender = addresses.parse_one(outbound["from"]) or ("", "")
    with database.atomic():
        stored = Message.create(
            conversation=conversation,
            direction="out",
            message_id=str(message["Message-ID"]),
            in_reply_to=reply.in_reply_to,
            references=trim_references(reply.references, compose.REFERENCES_SENT),
            from_addr=sender[1],
            from_name=sender[0],
            to=[to],
            cc=[_cc_address(a) for a in cc],
            reply_to=outbound["reply_to"],
            subject=str(message["Subject"]),
            date=utcnow(),
            text=body,
            headers={"auto-submitted": str(message["Auto-Submitted"])},
            raw_path=blobs.store_raw(raw),
            size=len(raw),
            dedup_key=f"out:{message['Message-ID']!s}",
            state="queued",
        )
        for path in attachments:
            data = path.read_bytes()
            Attachment.create(
                message=stored,
                filename=path.name,
                content_type=message_type(path),
                size=len(data),
                sha256=blobs.store_attachment(data),
            )
        Outbox.create(
            message=stored,
            channel=channel,
            kind="ack" if automatic else "reply",
            recipient=to,
        )
        own_id = str(message["Message-ID"])
        conversation.references = [*(conversation.references or []), own_id][-50:]
        conversation.message_count += 1
        conversation.unread = conversation.unread and automatic  # a human reply reads it
        conversation.updated_at = utcnow()
        conversation.status = lifecycle.agent_replied(conversation.status, status)
        conversation.save()
    return stored


def queue_auto_ack(conversation_id: int, mail: Any) -> Message | None:
    """Acknowledge a new conversation from the channel's template, unless that could loop.

    Never for automated mail (whatever the channel accepts), never to our own addresses,
    only ever to the conversation's contact (the sender, never a Reply-To a stranger chose),
    at most `auto_ack_per_hour` to that address and `DESK_ACKS_PER_HOUR` from the whole desk,
    so neither two auto-responders nor a forged sender can make the desk mail someone in bulk.
    """
    conversation = Conversation.get_by_id(conversation_id)
    channel = conversation.channel
    outbound = channel.settings.get("outbound") or {}
    name = outbound.get("auto_ack_template")
    if not name or conversation.contact_id is None:
        return None
    to = conversation.contact.email
    own = channels.own_addresses(channel.settings)
    if to in own or mail.from_addr in own or automated_reason(mail, own) is not None:
        return None
    since = utcnow() - timedelta(hours=1)
    acks = Outbox.select().where(Outbox.kind == "ack", Outbox.created_at > since)
    if acks.where(Outbox.recipient == to).count() >= outbound["auto_ack_per_hour"]:
        return None
    if acks.count() >= DESK_ACKS_PER_HOUR:
        return None
    body = templates.render(
        templates.get(name).body,
        template_values(conversation, agent=parseaddr(outbound["from"])[0] or channel.name),
    )
    return queue_reply(conversation_id, body, status=None, automatic=True)


def template_values(conversation: Conversation, agent: str | None = None) -> dict[str, Any]:
    contact: Contact | None = conversation.contact
    return {
        "contact_name": (contact.name or contact.email) if contact else "",
        "contact_email": contact.email if contact else "",
        "conversation_id": conversation.id,
        "subject": compose.base_subject(conversation.subject),
        "agent_name": agent or agent_name(),
        "channel_name": conversation.channel.name,
    }


def message_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def check_attachments(paths: list[Path], limit: int) -> None:
    """Readable files within the channel's ceiling, or one sentence saying which is not."""
    for path in paths:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise OutboxError(f"Cannot read the attachment {path}; check the path.")
    total = compose.attachment_total(paths)
    if limit and total > limit:
        raise OutboxError(
            f"The attachments add up to {total:,} bytes, over this channel's limit of "
            f"{limit:,}; send fewer or smaller files."
        )


def check_cc(cc: list[str]) -> None:
    for address in cc:
        _cc_address(address)


def _cc_address(text: str) -> str:
    parsed = addresses.parse_one(text)
    if parsed is None:
        raise OutboxError(f"{one_line(text)!r} in Cc is not an email address; fix the Cc line.")
    return parsed[1]


def last_inbound(conversation: Conversation) -> Message | None:
    newest = (
        conversation.messages.where(Message.direction == "in")
        .order_by(Message.date.desc(nulls="last"), Message.id.desc())
        .iterator()
    )
    return recipients.answered_of(newest)


def quote_header(answered: Message) -> str:
    who = answered.from_name or answered.from_addr
    when = answered.date.strftime("%a, %d %b %Y %H:%M UTC") if answered.date else "earlier"
    return f"On {when}, {who} wrote:"


# --- delivery ---------------------------------------------------------------------------


@dataclass
class Delivery:
    outbox_id: int
    conversation_id: int
    state: str  # sent | queued | failed
    detail: str = ""


def recover_interrupted() -> int:
    """Items left `sending` by a process that died: queue them again (see module doc)."""
    return (
        Outbox.update(state="queued", next_attempt_at=utcnow())
        .where(Outbox.state == "sending")
        .execute()
    )


def flush(
    store: Any,
    *,
    channel_name: str | None = None,
    force: bool = False,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Deliver what is due, one SMTP session per channel; returns what happened to each.

    Only active channels send, as only they are polled: a draft channel (the demo's, or one
    still being set up) keeps its replies queued instead of failing them against a server
    that is not there yet.
    """
    now = utcnow()
    query = (
        Outbox.select()
        .join(Channel)
        .where(Outbox.state == "queued", Channel.status == "active")
        .order_by(Outbox.id)
    )
    if not force:
        query = query.where(Outbox.next_attempt_at <= now)
    if channel_name:
        query = query.where(Outbox.channel == channels.get(channel_name))
    by_channel: dict[int, list[Outbox]] = {}
    for item in query:
        by_channel.setdefault(item.channel_id, []).append(item)
    results: list[Delivery] = []
    for channel_id, items in by_channel.items():
        channel = Channel.get_by_id(channel_id)
        run = JobRun.create(channel=channel, kind="send")
        done = asyncio.run(_deliver(channel, items, store, on_delivery))
        results += done
        run.fetched = len(done)
        run.ingested = sum(1 for d in done if d.state == "sent")
        run.failed = sum(1 for d in done if d.state == "failed")
        run.skipped = sum(1 for d in done if d.state == "queued")
        errors = [d.detail for d in done if d.state != "sent" and d.detail]
        run.error = errors[0] if errors else None
        run.finished_at = utcnow()
        run.save()
    return results


async def _deliver(
    channel: Channel,
    items: list[Outbox],
    store: Any,
    on_delivery: Callable[[Delivery], None] | None,
) -> list[Delivery]:
    outbound = channels.side_settings(channel, "outbound")
    endpoint = channels.endpoint(channel, "outbound")
    items = [item for item in items if _claim(item)]
    results: list[Delivery] = []
    if not items:
        return results
    smtp: aiosmtplib.SMTP | None = None
    try:
        secret = channels.password(channel, "outbound", store)
        smtp = await smtp_conn.connect(endpoint)
        await smtp_conn.login(smtp, endpoint, outbound["username"], secret)
    except Exception as exc:
        for item in items:
            results.append(_failed(item, exc, endpoint, outbound))
        if smtp is not None:
            smtp.close()
        return _report(results, on_delivery)
    try:
        sender = addresses.envelope(addresses.parse_one(outbound["from"])[1])
        for item in items:
            message: Message = item.message
            try:
                smtp = await _ready(smtp, endpoint, outbound, secret)
                recipients = [*message.to, *message.cc]
                utf8 = any(addresses.needs_smtputf8(a) for a in recipients)
                if utf8 and not smtp.supports_extension("smtputf8"):
                    raise Unsendable(
                        f"{one_line(', '.join(recipients))} can only be written to over SMTPUTF8, "
                        f"which {endpoint.host} does not offer; ask the customer for another "
                        "address."
                    )
                _refused, reply = await smtp.sendmail(
                    sender,
                    [addresses.envelope(a) for a in recipients],
                    blobs.read_raw(message.raw_path),
                    mail_options=["SMTPUTF8"] if utf8 else None,
                )
            except Exception as exc:
                results.append(_failed(item, exc, endpoint, outbound))
                if isinstance(exc, aiosmtplib.SMTPServerDisconnected | OSError):
                    for rest in items[items.index(item) + 1 :]:  # the server is gone
                        results.append(_failed(rest, exc, endpoint, outbound))
                    break
                # Whatever failed, the next reply starts a clean transaction: a MAIL FROM left
                # open made every later reply fail with "503 nested MAIL command".
                smtp = await _reset(smtp)
                continue
            _set_state(item, "sent", sent_at=utcnow(), last_error=None)
            results.append(Delivery(item.id, message.conversation_id, "sent", reply.strip()))
    finally:
        if smtp is not None:
            with contextlib.suppress(Exception):
                await smtp.quit()
    sent = [r for r in results if r.state == "sent"]
    if sent:
        _copy_to_sent(channel, [Outbox.get_by_id(r.outbox_id) for r in sent], store)
    return _report(results, on_delivery)


class Unsendable(DeskError):
    """A reply this server cannot take as it is (never retried)."""


async def _reset(smtp: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP | None:
    """RSET after a failed reply; None (reconnect for the next) when even that fails."""
    if smtp is None or not smtp.is_connected:
        return None
    try:
        await smtp.rset()
        return smtp
    except Exception:
        smtp.close()
        return None


async def _ready(
    smtp: aiosmtplib.SMTP | None, endpoint: Any, outbound: dict, secret: str | None
) -> aiosmtplib.SMTP:
    """The session to send on: the open one, or a new one after a failure closed it."""
    if smtp is not None and smtp.is_connected:
        return smtp
    smtp = await smtp_conn.connect(endpoint)
    await smtp_conn.login(smtp, endpoint, outbound["username"], secret)
    return smtp


def _report(
    results: list[Delivery], on_delivery: Callable[[Delivery], None] | None
) -> list[Delivery]:
    if on_delivery:
        for result in results:
            on_delivery(result)
    return results


def _failed(item: Outbox, exc: BaseException, endpoint: Any, outbound: dict) -> Delivery:
    temporary, detail = classify(exc, endpoint)
    if temporary and item.attempts < outbound["max_attempts"]:
        delay = min(outbound["retry_base_seconds"] * 2 ** (item.attempts - 1), BACKOFF_CAP_SECONDS)
        when = utcnow() + timedelta(seconds=delay)
        _set_state(item, "queued", next_attempt_at=when, last_error=detail)
        return Delivery(
            item.id,
            item.message.conversation_id,
            "queued",
            f"{detail} (will retry at {when:%H:%M:%S} UTC)",
        )
    if temporary:
        detail = f"{detail} (gave up after {item.attempts} attempts)"
    _set_state(item, "failed", last_error=detail)
    return Delivery(item.id, item.message.conversation_id, "failed", detail)


def classify(exc: BaseException, endpoint: Any) -> tuple[bool, str]:
    """(temporary?, one sentence): 4xx and network trouble are retried, 5xx and bad
    credentials or certificates wait for a person."""
    if isinstance(exc, AuthError | SecretError | CertificateError | Unsendable):
        return False, str(exc)
    if isinstance(exc, ValueError | UnicodeError):  # an address no SMTP command line can carry
        return False, f"The reply's addresses cannot be sent ({one_line(str(exc))}); fix them."
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message.strip()}" for r in exc.recipients)
        return (all(c < 500 for c in codes), f"The SMTP server refused the recipient ({text}).")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code < 500, f"The SMTP server answered {exc.code} {exc.message.strip()}."
    return True, str(explain(exc, endpoint))


def _claim(item: Outbox) -> bool:
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


def _set_state(item: Outbox, state: str, **fields: Any) -> None:
    """Outbox and message state change together, committed at once."""
    with database.atomic():
        for name, value in fields.items():
            setattr(item, name, value)
        item.state = state
        item.save()
        error = fields.get("last_error", item.last_error) if state != "sent" else None
        Message.update(state=state, error=error).where(Message.id == item.message_id).execute()


def _copy_to_sent(channel: Channel, items: list[Outbox], store: Any) -> None:
    """Append sent replies to the mailbox's Sent folder, so other mail clients see them."""
    inbound = channel.settings["inbound"]
    outbound = channel.settings["outbound"]
    if inbound["protocol"] != "imap":
        return
    endpoint = channels.endpoint(channel, "inbound")
    try:
        mailbox = imap_conn.connect(endpoint)
        try:
            imap_conn.login(
                mailbox, endpoint, inbound["username"], channels.password(channel, "inbound", store)
            )
            folder = outbound["sent_folder"] or _special_sent(mailbox)
            if folder is None:
                raise DeskError("the mailbox has no folder marked \\Sent; set sent_folder")
            for item in items:
                raw = blobs.read_raw(item.message.raw_path)
                mailbox.append(raw, folder, dt=None, flag_set=["\\Seen"])
        finally:
            with contextlib.suppress(Exception):
                mailbox.logout()
    except Exception as exc:
        note = f"Sent, but the copy to the Sent folder failed: {explain(exc, endpoint)}"
        Outbox.update(last_error=note).where(Outbox.id.in_([i.id for i in items])).execute()


def _special_sent(mailbox: imap_conn.DeskMailBox) -> str | None:
    for folder in mailbox.folder.list():
        if "\\Sent" in folder.flags:
            return folder.name
    return None


# --- administration ---------------------------------------------------------------------


def retry(outbox_id: int) -> Outbox:
    item = _item(outbox_id)
    if item.state not in ("failed", "queued", "cancelled"):
        raise OutboxError(
            f"Outbox item {outbox_id} is {item.state}; only failed, queued or "
            "cancelled items can be retried."
        )
    _set_state(item, "queued", next_attempt_at=utcnow(), attempts=0, last_error=None)
    return item


def cancel(outbox_id: int) -> Outbox:
    item = _item(outbox_id)
    if item.state not in ("queued", "failed"):
        raise OutboxError(
            f"Outbox item {outbox_id} is {item.state}; only queued or failed "
            "items can be cancelled."
        )
    _set_state(item, "cancelled")
    return item


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
