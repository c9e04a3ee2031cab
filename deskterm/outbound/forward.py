"""A message forwarded, with its attachments, to any address: checked, built and committed
to the outbox like a reply; no network I/O happens here.

The forward is a new mail from the channel's sender: every header is written by
`mail.compose` (the subject becomes `Fwd: <subject> [#id]`, so an answer from the address
threads back into the conversation), the forwarded message's own headers are quoted as text
in the body, never copied. It is kept in the conversation as an outgoing message, and the
conversation's status is left as it is.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from deskterm.channels.typed import ChannelConfig
from deskterm.desk import status_history
from deskterm.desk.attachments import safe_filename
from deskterm.mail import addresses, compose
from deskterm.outbound.outbox import OutboxError
from deskterm.outbound.replies import check_attachments, check_total, no_outbound
from deskterm.sanitize import clean, one_line
from deskterm.store import blobs
from deskterm.store.db import database, utcnow
from deskterm.store.models import Attachment, Channel, Conversation, Message, Outbox

SEPARATOR = "---------- Forwarded message ----------"


def find_message(reference: str | int) -> Message:
    """A stored message by the desk's number for it, or by its Message-ID (`<...>` or not)."""
    text = str(reference).strip()
    if text.isdigit():
        message = Message.get_or_none(Message.id == int(text))
    else:
        wanted = text if text.startswith("<") else f"<{text}>"
        message = Message.select().where(Message.message_id == wanted).first()
    if message is None:
        raise OutboxError(f"There is no message {one_line(text)!r} on this desk.")
    return message


def recipient(address: str) -> tuple[str, str]:
    """(display name, address) of what the agent typed, or one sentence saying it is not one."""
    parsed = addresses.parse_one(address or "")
    if parsed is None:
        raise OutboxError(
            f"{one_line(address or '')!r} is not an email address; give one like name@example.com."
        )
    return parsed


def forwarded_text(message: Message, note: str = "") -> str:
    """The agent's note, then the forwarded message's headers and text, as plain text."""
    when = message.date.strftime("%a, %d %b %Y %H:%M UTC") if message.date else "unknown"
    name, address = message.from_name, message.from_addr
    sender = f"{name} <{address}>" if name and address else address or name
    lines = [
        SEPARATOR,
        f"From: {one_line(sender)}",
        f"Date: {when}",
        f"Subject: {one_line(message.subject or '')}",
        f"To: {one_line(', '.join(message.to or []))}",
    ]
    if message.cc:
        lines.append(f"Cc: {one_line(', '.join(message.cc))}")
    head = f"{clean(note).strip()}\n\n" if note.strip() else ""
    return head + "\n".join(lines) + "\n\n" + clean(message.text or "").rstrip() + "\n"


def queue_forward(reference: str | int, address: str, note: str = "") -> Message:
    """Check, build and commit the forward of one stored message (and its attachments) to
    `address`; returns the outgoing message queued in the outbox."""
    original = find_message(reference)
    _, to_address = recipient(address)
    conversation: Conversation = original.conversation
    channel: Channel = conversation.channel
    outbound = ChannelConfig.of(channel).outbound
    if outbound is None:
        raise OutboxError(no_outbound(channel, "forwards"))
    files = list(original.attachments.order_by(Attachment.id))
    check_total(sum(file.size for file in files), outbound.max_attachment_bytes)  # before copying
    body = forwarded_text(original, note)
    with tempfile.TemporaryDirectory(prefix="deskterm-forward-") as directory:
        paths = _copies(files, Path(directory))
        check_attachments(paths, outbound.max_attachment_bytes)
        mail = compose.build(
            compose.Reply(
                conversation_id=conversation.id,
                from_header=outbound.sender,
                to=[address.strip()],  # parsed above: the same mailbox again
                reply_to=outbound.reply_to,
                subject=conversation.email_subject or conversation.subject,
                body=body,
                attachments=paths,
                subject_prefix="Fwd",
            )
        )  # raises UnsafeReply (a DeskError) rather than queue it
    raw = bytes(mail)
    sender = addresses.parse_one(outbound.sender) or ("", "")
    own_id = str(mail["Message-ID"])
    with database.atomic():
        stored = Message.create(
            conversation=conversation,
            direction="out",
            message_id=own_id,
            from_addr=sender[1],
            from_name=sender[0],
            to=[to_address],
            reply_to=outbound.reply_to,
            subject=str(mail["Subject"]),
            date=utcnow(),
            text=body,
            headers={"auto-submitted": "no", "forwarded": original.message_id or ""},
            raw_path=blobs.store_raw(raw),
            size=len(raw),
            dedup_key=f"out:{own_id}",
            state="queued",
            agent=status_history.by_whom(),  # who forwarded it, as a reply records its author
        )
        for file in files:
            Attachment.create(
                message=stored,
                filename=file.filename,
                content_type=file.content_type,
                size=file.size,
                sha256=file.sha256,
            )
        Outbox.create(message=stored, channel=channel, kind="forward", recipient=to_address)
        # Only what a forward changes, counted on the row as it is now (another agent or
        # the worker may have written it since it was read).
        conversation.references = [*(conversation.references or []), own_id][-50:]
        conversation.updated_at = utcnow()
        Conversation.update(
            references=conversation.references,
            message_count=Conversation.message_count + 1,
            updated_at=conversation.updated_at,
        ).where(Conversation.id == conversation.id).execute()
    return stored


def _copies(files: list[Attachment], directory: Path) -> list[Path]:
    """The attachments copied under their safe names (each once), so the forward names them."""
    paths: list[Path] = []
    for number, file in enumerate(files, start=1):
        name = safe_filename(file.filename)
        path = directory / name
        if path.exists():
            path = directory / f"{number}-{name}"
        source = blobs.attachment_path(file.sha256)
        if not source.is_file():
            raise OutboxError(
                f"The attachment {one_line(file.filename)} is missing from the desk's storage."
            )
        shutil.copyfile(source, path)  # streamed: an attachment is not held in memory twice
        paths.append(path)
    return paths
