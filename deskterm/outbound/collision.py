"""What changed on a conversation while a reply was being written.

A reply is written against the conversation as it was when the composer opened; if the
customer wrote again, or another agent's reply went out meanwhile, sending it unchanged may
answer a question already answered or miss the new one. The composer (or any caller of
`replies.queue_reply`) passes the newest message id it started from (`latest_message`), and
the outbox refuses with `ChangedSince` when there is anything newer that matters: an inbound
message, or a reply (not an automatic acknowledgement, not a forward). Asking again with the
newest id of those changes (`ChangedSince.newest`) sends anyway, and only what came after
them stops it again.

Everything in a `Change` is from a mail or another agent: one plain line each, cut short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import peewee

from deskterm.errors import NotFound
from deskterm.outbound.outbox import OutboxError
from deskterm.sanitize import one_line
from deskterm.store.models import Message, Outbox

PREVIEW_LINES = 3  # lines of a new message shown in the question
PREVIEW_CHARS = 100  # per line
SCAN_CHARS = 4000  # of a message's text looked at for those lines (a huge mail stays quick)


@dataclass(frozen=True)
class Change:
    """One message that arrived or was queued after the reply was started."""

    message_id: int  # the desk's Message id
    mail_id: str | None  # its Message-ID (`deskterm show` lists it as message_id)
    kind: str  # "message": the customer's (inbound) | "reply": an agent's reply
    who: str  # who wrote it: the sender's name or address, one plain line
    when: datetime | None  # when it reached the desk (naive UTC)
    lines: tuple[str, ...]  # its first lines, quoted history left out

    def headline(self) -> str:
        what = "A new message" if self.kind == "message" else "A reply"
        return f"{what} from {self.who}"


class ChangedSince(OutboxError):
    """The reply was not queued: the conversation changed since it was started."""

    def __init__(self, conversation_id: int, changes: list[Change]) -> None:
        self.conversation_id = conversation_id
        self.changes = changes
        self.newest = max(c.message_id for c in changes)
        first = changes[0].headline()
        first = first[:1].lower() + first[1:]
        more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
        newest = changes[-1].mail_id
        again = f"with --seen '{one_line(newest)}'" if newest else "without --seen"
        super().__init__(
            f"Conversation #{conversation_id} changed since the reply was started "
            f"({first}{more}); read it with `deskterm show {conversation_id}`, then reply "
            f"again {again} to send anyway."
        )


def latest_message(conversation_id: int) -> int:
    """The newest message id of the conversation now (0 when it has none): what a reply
    starts from."""
    newest = (
        Message.select(peewee.fn.MAX(Message.id))
        .where(Message.conversation == conversation_id)
        .scalar()
    )
    return int(newest or 0)


def seen_upto_of(conversation_id: int, mail_id: str) -> int:
    """The starting point named by a message's Message-ID (as `deskterm show` lists it):
    what a script read before writing its reply."""
    found = (
        Message.select(peewee.fn.MAX(Message.id))
        .where(Message.conversation == conversation_id, Message.message_id == mail_id.strip())
        .scalar()
    )
    if found is None:
        raise NotFound(
            f"Conversation #{conversation_id} has no message {one_line(mail_id)!r}; "
            f"`deskterm show {conversation_id}` lists each one's message_id."
        )
    return int(found)


def changes_since(conversation_id: int, seen_upto: int) -> list[Change]:
    """Inbound messages and agents' replies of the conversation newer than `seen_upto`,
    oldest first."""
    rows = (
        Message.select(
            Message.id,
            Message.message_id,
            Message.direction,
            Message.from_name,
            Message.from_addr,
            Message.created_at,
            peewee.fn.SUBSTR(Message.text, 1, SCAN_CHARS).alias("start"),
        )
        .where(
            Message.conversation == conversation_id,
            Message.id > seen_upto,
            (Message.direction == "in")
            | Message.id.in_(Outbox.select(Outbox.message).where(Outbox.kind == "reply")),
        )
        .order_by(Message.id)
        .dicts()
    )
    return [
        Change(
            message_id=row["id"],
            mail_id=row["message_id"],
            kind="message" if row["direction"] == "in" else "reply",
            who=one_line(row["from_name"] or row["from_addr"] or "someone")[:PREVIEW_CHARS],
            when=row["created_at"],
            lines=first_lines(row["start"] or ""),
        )
        for row in rows
    ]


def check_unchanged(conversation_id: int, seen_upto: int | None) -> None:
    """Refuse (`ChangedSince`) when anything that matters came after `seen_upto`; None: no
    check (a reply written without a starting point: `deskterm reply` without --seen, an
    acknowledgement)."""
    if seen_upto is None:
        return
    changes = changes_since(conversation_id, seen_upto)
    if changes:
        raise ChangedSince(conversation_id, changes)


def first_lines(text: str, count: int = PREVIEW_LINES) -> tuple[str, ...]:
    """The first lines that say something: blank lines and quoted history ("> ") skipped."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = one_line(raw)
        if not line or line.startswith(">"):
            continue
        lines.append(line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…")
        if len(lines) == count:
            break
    return tuple(lines)
