""" "Ingest anyway": a skipped mail the agent knows is a real customer's becomes a message.

A filter can be wrong (a customer's mail client sets Auto-Submitted, a rule matches too much).
The mail was kept, so it is read back from its stored raw bytes, parsed as a fetch would, and
applied through the normal ingest path with the filters passed: it is threaded, its sender
becomes (or stays) a contact, and no acknowledgement goes out (the customer wrote long ago).

Every fetched mail still ends as exactly one message or one skipped row: the skipped row is
removed in the same transaction that stores the message, and the message takes over the
row's fetch identity (`source`), so the same fetch seen again is recognised as on record.
The message's notes say it was rescued and why it had been skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from deskterm import paths, settings
from deskterm.errors import DeskError
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.parse_guard import KILLED
from deskterm.inbound.prepare import prepare_stored
from deskterm.inbound.stages import Fetched
from deskterm.store import blobs
from deskterm.store.db import database
from deskterm.store.models import Message, SkippedMail


@dataclass
class Rescued:
    """Where a rescued mail went."""

    skipped_id: int
    conversation_id: int
    message_id: int
    reason: str  # why it had been skipped


def why_not(row: SkippedMail) -> str | None:
    """Why this skipped row cannot be ingested anyway, in one sentence (None: it can)."""
    if row.twin_message:
        return (
            f"Skipped mail {row.id} is a copy of message {row.twin_message}, which is stored "
            "already; there is nothing to rescue."
        )
    if not row.raw_path:
        return (
            f"Skipped mail {row.id} cannot be ingested: its raw message was not kept "
            f"({row.reason})."
        )
    if row.reason == KILLED:  # parsed here, it would take the desk down with it
        return (
            f"Skipped mail {row.id} cannot be ingested: the mail-parsing process died on it "
            "twice; open the raw mail to read it."
        )
    return None


def rescue(skipped_id: int) -> Rescued:
    """Ingest skipped mail `skipped_id` as if the filters had passed it; DeskError if it
    cannot be (no such row, a duplicate, its raw message not kept or unreadable)."""
    row = SkippedMail.get_or_none(SkippedMail.id == skipped_id)
    if row is None:
        raise DeskError(f"There is no skipped mail {skipped_id}; `deskterm skipped` lists them.")
    refusal = why_not(row)
    if refusal:
        raise DeskError(refusal)
    try:
        raw = blobs.read_raw(row.raw_path)
    except (OSError, ValueError) as exc:
        raise DeskError(
            f"Skipped mail {row.id} cannot be ingested: its raw message cannot be read "
            f"({type(exc).__name__})."
        ) from exc
    max_body, min_att = settings.current().parse_limits
    ingestor = Ingestor(row.channel, passed=True)
    mail, ref, stored = prepare_stored(
        raw, row.raw_path, max_body, min_att, paths.attachments_dir(), ingestor.mapped_headers
    )
    folder, epoch = row.folder, ""
    if row.source:
        _, folder, epoch, _ = row.source.split("\t", 3)
    item = Fetched(row.uid, b"", mail, raw_path=ref, attachments=stored)
    reason = str(row.reason)
    with database.atomic():
        row.delete_instance()  # its fetch identity passes to the message
        (outcome,) = ingestor.apply([item], folder, epoch)
        if outcome.conversation_id is None or outcome.message_id is None:
            twin = Message.get_or_none(Message.dedup_key == mail.dedup_key)
            detail = f"message {twin.id} holds the same mail" if twin else outcome.reason
            raise _Refused(f"Skipped mail {skipped_id} was not ingested: {detail}.")
        message = Message.get_by_id(outcome.message_id)
        message.notes = {**(message.notes or {}), "rescued_from": reason}
        message.save()
    return Rescued(skipped_id, outcome.conversation_id, message.id, reason)


class _Refused(DeskError):
    """Raised inside the transaction so the skipped row comes back."""
