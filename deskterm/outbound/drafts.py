"""Reply drafts: one JSON file per conversation, saved as the agent types.

A draft is one JSON file per conversation under `<desk home>/drafts/`, written atomically (a
temporary file in the same folder, fsync, `os.replace`), so a crash or a dropped SSH session
leaves either the previous draft or the new one, never half a file, and never loses more
than the last second of typing (`Autosaver` writes at most once per `SAVE_EVERY` seconds while
the agent types, and once more when the composer closes). Sending (`send`) queues the reply
through `replies.queue_reply` and only then deletes the draft.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from deskterm import paths
from deskterm.desk import status as lifecycle
from deskterm.errors import DeskError
from deskterm.outbound import composer, replies
from deskterm.outbound.outbox import OutboxError

log = logging.getLogger("deskterm.outbound.drafts")

SAVE_EVERY = 1.0  # seconds: the most typing a crash can cost


class DraftError(DeskError):
    """A draft could not be read or written; the sentence says where and why."""


@dataclass
class Draft:
    """What the agent has written so far; `cc` is kept as typed, half an address included."""

    conversation_id: int
    body: str = ""
    cc: str = ""
    attachments: list[str] = field(default_factory=list)
    status: str = lifecycle.DEFAULT_AFTER_REPLY  # what the conversation becomes once queued
    to_reply_to: bool = False  # the agent chose the answered mail's Reply-To over the contact

    def is_empty(self) -> bool:
        return not (self.body.strip() or self.cc.strip() or self.attachments)

    def copy(self) -> Draft:
        return replace(self, attachments=list(self.attachments))


def drafts_dir() -> Path:
    """Owner-only, like the rest of the desk's home: drafts hold customer conversations."""
    folder = paths.home() / "drafts"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def draft_file(conversation_id: int) -> Path:
    return drafts_dir() / f"{int(conversation_id)}.json"


def exists(conversation_id: int) -> bool:
    return draft_file(conversation_id).is_file()


def load(conversation_id: int) -> Draft:
    """The saved draft, or an empty one; an unreadable file is moved aside, never deleted."""
    path = draft_file(conversation_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Draft(conversation_id)
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    try:
        status = data.get("status", lifecycle.DEFAULT_AFTER_REPLY)
        draft = Draft(
            conversation_id=conversation_id,
            body=str(data.get("body", "")),
            cc=str(data.get("cc", "")),
            attachments=[str(p) for p in data.get("attachments", [])],
            status=status if status in lifecycle.AFTER_REPLY else lifecycle.DEFAULT_AFTER_REPLY,
            to_reply_to=data.get("to_reply_to") is True,
        )
    except (AttributeError, TypeError) as exc:
        raise _unreadable(path, exc) from None
    return draft


def _unreadable(path: Path, exc: Exception) -> DraftError:
    kept = path.with_name(path.name + ".unreadable")
    with contextlib.suppress(OSError):
        os.replace(path, kept)
    log.warning("draft %s unreadable: %s", path, exc)
    return DraftError(
        f"The saved draft {path.name} could not be read ({type(exc).__name__}); it was kept as "
        f"{kept} and the reply starts empty."
    )


def save(draft: Draft) -> None:
    """Write the draft atomically; an empty draft is no draft (its file is removed)."""
    if draft.is_empty():
        discard(draft.conversation_id)
        return
    target = draft_file(draft.conversation_id)
    data = {
        **asdict(draft),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        paths.replace_private(target, json.dumps(data, ensure_ascii=False, indent=1).encode())
    except OSError as exc:
        raise DraftError(
            f"The draft for #{draft.conversation_id} could not be saved in {target.parent} "
            f"({exc.strerror or type(exc).__name__}); keep the composer open and free some space."
        ) from None


def discard(conversation_id: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        draft_file(conversation_id).unlink()


class Autosaver:
    """Throttled saving: the first change is written at once, then at most every `every` s.

    The composer calls `changed` on every edit and `flush` from a timer (which writes a
    change held back by the throttle once it is due) and with `force=True` when it closes.
    A failed write keeps the change pending, so the next tick tries again.
    """

    def __init__(
        self,
        draft: Draft,
        *,
        every: float = SAVE_EVERY,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[Draft], None] = save,
    ) -> None:
        self.every = every
        self.clock = clock
        self.write = write
        self.saved = draft.copy()  # what the file holds (or would, for an empty draft)
        self.pending: Draft | None = None
        self.last_write = float("-inf")
        self.stopped = False

    def changed(self, draft: Draft) -> bool:
        """Note the draft as it is now; returns whether it was written."""
        if self.stopped:
            return False
        if draft == self.saved:
            self.pending = None
            return False
        self.pending = draft.copy()
        return self.flush()

    def flush(self, force: bool = False) -> bool:
        if self.stopped or self.pending is None:
            return False
        if not force and self.clock() - self.last_write < self.every:
            return False
        draft = self.pending
        self.last_write = self.clock()
        self.write(draft)
        self.saved, self.pending = draft, None
        return True

    def stop(self) -> None:
        """After sending: nothing may write the draft back."""
        self.stopped = True
        self.pending = None


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    conversation_id: int
    message_id: int
    note: str  # one sentence for the agent


def send(draft: Draft, seen_upto: int | None = None) -> Queued:
    """Queue the draft in the outbox (no network I/O), then forget the draft.

    `seen_upto`: the newest message id the composer opened on; a conversation that changed
    since raises `collision.ChangedSince` and the draft stays (see `replies.queue_reply`).
    """
    if draft.status not in lifecycle.AFTER_REPLY:
        raise OutboxError(f"A reply leaves the conversation {' or '.join(lifecycle.AFTER_REPLY)}.")
    message = replies.queue_reply(
        draft.conversation_id,
        draft.body,
        attachments=[Path(p) for p in draft.attachments],
        cc=composer.cc_addresses(draft.cc),
        status=draft.status,
        to_reply_to=draft.to_reply_to,
        seen_upto=seen_upto,
    )
    discard(draft.conversation_id)
    channel = message.conversation.channel
    if channel.status == "active":
        note = f"Reply to #{draft.conversation_id} queued for {', '.join(message.to)}."
    else:
        note = (
            f"Reply to #{draft.conversation_id} queued, but channel {channel.name} has no "
            f"server connected (it is {composer.described(channel.status)}), so it stays queued "
            "until the channel is made active."
        )
    return Queued(draft.conversation_id, message.id, note)
