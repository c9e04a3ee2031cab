"""A reply, checked, built and committed to the outbox; no network I/O happens here.

Whom it goes to is `recipients`' rule; the conversation's status afterwards is the
lifecycle's (`desk.status`); what happens to it once queued is the outbox's.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from deskterm.channels.typed import ChannelConfig
from deskterm.desk import recipients, sla, status_history, templates
from deskterm.desk import status as lifecycle
from deskterm.desk.queries import get_conversation
from deskterm.mail import addresses, compose
from deskterm.mail.message_ids import trim_references
from deskterm.outbound import collision
from deskterm.outbound.outbox import OutboxError
from deskterm.sanitize import one_line
from deskterm.store import blobs
from deskterm.store.db import database, utcnow
from deskterm.store.models import Attachment, Channel, Conversation, Message, Outbox


def queue_reply(
    conversation_id: int,
    body: str,
    *,
    attachments: list[Path] | None = None,
    cc: list[str] | None = None,
    status: str | None = lifecycle.DEFAULT_AFTER_REPLY,
    automatic: bool = False,
    to_reply_to: bool = False,
    seen_upto: int | None = None,
    kind: str | None = None,
    html: str | None = None,
    agent: str | None = None,
) -> Message:
    """Check, build and commit a reply to the outbox; no network I/O happens here.

    The reply goes to the conversation's contact. The Reply-To of the answered mail is used
    only when the agent asks for it (`to_reply_to`): a stranger's mail must not redirect the
    answer silently. An automatic reply always goes to the contact.

    `seen_upto` is the newest message id the reply was written against (the composer's
    `collision.latest_message` when it opened): if the customer wrote again or an agent
    replied since, `collision.ChangedSince` says what changed and nothing is queued.

    `agent`: the handle of who wrote it (default: the agent at this keyboard; the demo's
    history gives its own).

    `kind` is the outbox's (default: "ack" for an automatic reply, else "reply"); `html` a
    template's own HTML part (default: made from the body). A human reply on a channel with a
    `reply_template` is put in that layout (`$reply_text`), wherever it was written.
    """
    attachments = [Path(p).expanduser() for p in attachments or []]
    conversation = get_conversation(conversation_id)
    channel: Channel = conversation.channel
    outbound = ChannelConfig.of(channel).outbound
    if outbound is None:
        raise OutboxError(no_outbound(channel, "replies"))
    if not body.strip():
        raise OutboxError("The reply is empty; write something before sending.")
    check_attachments(attachments, outbound.max_attachment_bytes)
    if outbound.reply_template and not automatic:
        laid_out = templates.fill_parts(
            outbound.reply_template, conversation, extra={"reply_text": body.rstrip()}
        )
        body, html = laid_out.text, laid_out.html
    answered = last_inbound(conversation)
    to = recipients.reply_address(conversation, answered, to_reply_to=to_reply_to and not automatic)
    cc = [a.strip() for a in cc or [] if a.strip()]
    check_cc(cc)

    reply = compose.Reply(
        conversation_id=conversation.id,
        from_header=outbound.sender,
        to=[to],
        cc=cc,
        reply_to=outbound.reply_to,
        subject=conversation.email_subject or conversation.subject,
        body=body,
        in_reply_to=answered.message_id if answered else None,
        references=list(conversation.references or []),
        thread_index=(answered.headers or {}).get("thread-index") if answered else None,
        attachments=attachments,
        automatic=automatic,
        html=html,
    )
    if answered is not None and outbound.quote_previous and not automatic:
        reply.quote = answered.text
        reply.quote_header = quote_header(answered)
    message = compose.build(reply)  # raises UnsafeReply (a DeskError) rather than queue it
    raw = bytes(message)
    sender = addresses.parse_one(outbound.sender) or ("", "")
    # Who wrote it (the thread's "Sam replied", the reports' replies per agent): nobody for
    # an automatic reply, which the desk sends of itself.
    author = None if automatic else agent or status_history.by_whom()
    with database.atomic():
        # A no-op write takes the conversation's row lock (PostgreSQL) or the desk's write
        # lock (SQLite) first: two agents sending at once are serialized here (the second
        # sees the first's reply as a change), and the row is read again under the lock, so
        # what the worker or another agent wrote meanwhile (a message, a status) is kept.
        Conversation.update(message_count=Conversation.message_count).where(
            Conversation.id == conversation.id
        ).execute()
        if seen_upto is not None:
            collision.check_unchanged(conversation.id, seen_upto)
        now = Conversation.get_by_id(conversation.id)
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
            reply_to=outbound.reply_to,
            subject=str(message["Subject"]),
            date=utcnow(),
            text=body,
            headers={"auto-submitted": str(message["Auto-Submitted"])},
            raw_path=blobs.store_raw(raw),
            size=len(raw),
            dedup_key=f"out:{message['Message-ID']!s}",
            state="queued",
            agent=author,
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
            kind=kind or ("ack" if automatic else "reply"),
            recipient=to,
        )
        own_id = str(message["Message-ID"])
        conversation.references = [*(now.references or []), own_id][-50:]
        conversation.message_count = now.message_count + 1
        conversation.unread = now.unread and automatic  # a human reply reads it
        conversation.updated_at = utcnow()
        conversation.status = lifecycle.agent_replied(now.status, status)
        Conversation.update(
            references=conversation.references,
            message_count=Conversation.message_count + 1,
            unread=conversation.unread,
            updated_at=conversation.updated_at,
            status=conversation.status,
        ).where(Conversation.id == conversation.id).execute()
        if not automatic:  # an acknowledgement is no response, and changes no status
            sla.first_response(conversation.id, conversation.updated_at)
        if conversation.status != now.status:
            status_history.record(
                conversation.id, now.status, conversation.status, agent=status_history.by_whom()
            )
    return stored


def no_outbound(channel: Channel, what: str) -> str:
    """Why a channel without [outbound] settings cannot send `what`, and how to add them."""
    return (
        f"Channel {channel.name!r} has no [outbound] settings, so it cannot send {what}; "
        f"add them with `deskterm channel edit {channel.name} --file ...`."
    )


def message_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def check_attachments(paths: list[Path], limit: int) -> None:
    """Readable files within the channel's ceiling, or one sentence saying which is not."""
    for path in paths:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise OutboxError(f"Cannot read the attachment {path}; check the path.")
    check_total(compose.attachment_total(paths), limit)


def check_total(total: int, limit: int) -> None:
    """Attachments of `total` bytes within the channel's ceiling (0: none), or one sentence."""
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
