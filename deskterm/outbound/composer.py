"""What the composer needs around a draft, as plain Python.

The composer's logic kept out of the UI so it is tested without a terminal: the reply's
headers as they will go out (`reply_context`), templates with their `$variables` filled,
attachment checks that say what is wrong in one sentence, Cc parsing, and path completion for
the attachment field. Text that comes from a mail (a template's `$subject`, a quote) is `clean`ed
before it reaches the composer, as everything shown on screen is. The `$EDITOR` hand-off is
`editor`'s; sending a draft is `drafts.send`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING

from deskterm.channels.typed import ChannelConfig
from deskterm.desk import recipients, templates
from deskterm.desk.queries import get_conversation
from deskterm.mail import addresses, compose
from deskterm.outbound import collision, replies
from deskterm.outbound.outbox import OutboxError
from deskterm.sanitize import clean, one_line

if TYPE_CHECKING:
    from deskterm.outbound.drafts import Draft

COMPLETION_SCAN_LIMIT = 2000  # directory entries looked at per completion (huge folders)


# --- the reply as it will go out ----------------------------------------------------------


@dataclass(frozen=True)
class ReplyContext:
    """What the composer shows above the text, read from the conversation and its channel."""

    conversation_id: int
    subject: str  # the Subject the reply will carry: "Re: <subject> [#id]"
    to: str | None  # the contact: where the reply goes unless the agent picks reply_to
    reply_to: str | None  # the answered mail's Reply-To, when it is someone else: offered only
    sender: str  # the channel's From
    channel: str
    attachment_limit: int
    quote_previous: bool  # the outbox quotes the answered mail below the reply by itself
    answered_from: str  # who wrote the mail being answered ("" when there is none)
    # The newest message when the composer opened: sending asks first if anything that
    # matters came after it (outbound.collision).
    seen_upto: int
    problem: str | None = None  # why this reply cannot be queued at all
    waiting: str | None = None  # why a queued reply will not leave yet


def reply_context(conversation_id: int) -> ReplyContext:
    conversation = get_conversation(conversation_id)
    channel = conversation.channel
    outbound = ChannelConfig.of(channel).outbound
    # The outbox's own rules for whom a reply goes to; one place decides.
    answered = replies.last_inbound(conversation)
    problem = None
    try:
        to: str | None = recipients.reply_address(conversation, answered)
    except recipients.NoRecipient as exc:
        to, problem = None, str(exc)
    if outbound is None:
        problem = replies.no_outbound(channel, "replies")
    return ReplyContext(
        conversation_id=conversation.id,
        subject=compose.reply_subject(
            conversation.email_subject or conversation.subject, conversation.id
        ),
        to=to,
        reply_to=recipients.differing_reply_to(conversation, answered),
        sender=outbound.sender if outbound else "",
        channel=channel.name,
        attachment_limit=outbound.max_attachment_bytes if outbound else 0,
        quote_previous=outbound.quote_previous if outbound else False,
        answered_from=(answered.from_name or answered.from_addr) if answered else "",
        seen_upto=collision.latest_message(conversation.id),
        problem=problem,
        waiting=waiting_reason(channel.name, channel.status),
    )


def waiting_reason(channel: str, status: str) -> str | None:
    """Why replies of this channel stay queued: the outbox sends only for active channels."""
    if status == "active":
        return None
    return (
        f"Channel {channel} is {described(status)} with no server connected, so replies stay "
        "queued until it is made active."
    )


def described(status: str) -> str:
    """A channel's status as a sentence says it ("a draft", "disabled")."""
    return "a draft" if status == "draft" else status


def template_names() -> list[str]:
    return [t.name for t in templates.all_templates(kind="reply")]


def template_text(conversation_id: int, name: str) -> str:
    """A template with its `$variables` filled for this conversation, safe to show."""
    conversation = get_conversation(conversation_id)
    return clean(templates.fill(name, conversation))


def quote_text(conversation_id: int) -> str:
    """The customer's last mail quoted ("> "), to answer between its lines.

    Refused when the channel quotes it below every reply anyway (`quote_previous`): the
    customer would get their mail twice.
    """
    conversation = get_conversation(conversation_id)
    outbound = ChannelConfig.of(conversation.channel).outbound
    if outbound is not None and outbound.quote_previous:
        raise OutboxError(
            f"Channel {conversation.channel.name} already quotes the customer's last mail below "
            "every reply (quote_previous), so it is not inserted a second time."
        )
    answered = replies.last_inbound(conversation)
    if answered is None or not answered.text.strip():
        raise OutboxError(f"Conversation #{conversation_id} has no customer mail to quote.")
    return clean(compose.quoted(answered.text, replies.quote_header(answered))) + "\n\n"


# --- attachments and Cc ---------------------------------------------------------------------


def _size(path: str | Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # gone since it was added: queue_reply says so when the reply is sent


def attachment_sizes(draft: Draft) -> list[tuple[str, int]]:
    return [(path, _size(path)) for path in draft.attachments]


def add_attachment(draft: Draft, typed: str, limit: int) -> Path:
    """Attach a file to the draft, or say in one sentence why not (nothing changes then).

    The same checks and words as `replies.queue_reply`, made as the file is added rather
    than when the agent presses send.
    """
    typed = typed.strip()
    if not typed:
        raise OutboxError("Type the path of a file to attach (tab completes it).")
    path = Path(typed).expanduser()
    path = path if path.is_absolute() else Path.cwd() / path
    if str(path) in draft.attachments:
        raise OutboxError(f"{path.name} is already attached.")
    replies.check_attachments([*(Path(p) for p in draft.attachments), path], limit)
    draft.attachments.append(str(path))
    return path


def cc_addresses(typed: str) -> list[str]:
    """The Cc line as typed ("a@x.example, Bo <b@y.example>") split into addresses, checked."""
    found = [
        f"{name} <{address}>" if name else address or name
        for name, address in getaddresses([typed.replace(";", ",")])
        if name or address
    ]
    bad = [address for address in found if addresses.parse_one(address) is None]
    if bad and typed.count("@") > "".join(found).count("@"):
        # Addresses went missing in the stdlib's reading (`a@x b@x` reads as `@x`): quote
        # what was typed, not that reading.
        raise OutboxError(
            f"{one_line(typed.strip())!r} in Cc is not a list of addresses; separate them "
            "with commas, like a@example.com, Bo <b@example.com>."
        )
    replies.check_cc(found)
    return found


# --- path completion ------------------------------------------------------------------------


def complete_path(typed: str) -> str | None:
    """What the attachment field suggests for `typed`: `typed` plus the rest of a file name.

    The longest common completion among the matching entries, else the first match; folders
    end with "/". Hidden entries only when the typed name starts with a dot. `~` is kept as
    typed. At most `COMPLETION_SCAN_LIMIT` entries are read, so a huge folder stays fast.
    """
    if not typed or typed.endswith(os.sep + ".."):
        return None
    folder, prefix = os.path.split(os.path.expanduser(typed))
    names: list[str] = []
    try:
        with os.scandir(folder or ".") as entries:
            for number, entry in enumerate(entries):
                if number >= COMPLETION_SCAN_LIMIT:
                    break
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                with contextlib.suppress(OSError):
                    names.append(entry.name + (os.sep if entry.is_dir() else ""))
    except OSError:
        return None
    if not names:
        return None
    names.sort()
    common = os.path.commonprefix(names)  # noqa: RUF071 - names, not paths: by character
    completion = common if len(common) > len(prefix) else names[0]
    if completion == prefix:
        return None
    return typed + completion[len(prefix) :]
