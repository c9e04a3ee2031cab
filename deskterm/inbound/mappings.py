"""What a channel's `[tickets]` table makes of a new conversation: its type, its custom
fields filled from the mail, and the raw mail as a visible attachment.

Runs inside the ingest batch for each mail that starts a conversation, on the sync's single
writer thread, so it must be cheap and must never fail the batch: the channel's type and
fields are loaded once per ingestor, a mapping reads only what it maps, and a mapping that
fails on a hostile mail (a pattern running past its time bound, a value its field does not
take, a raw mail that cannot be read) leaves the field's default and a note on the message,
which the thread shows.

A mapped header (one the parse does not keep for the desk itself) is kept by the parse, in
the pool's workers that have the mail's bytes (`headers`, passed with the parse limits, read
back from `ParsedMail.mapped_headers`). It was read here from the stored raw mail once per new
conversation: `bench.mapping_cost` measured that at 2.24x the ingest of 5,000 new
conversations without mappings on SQLite (1.35x on PostgreSQL), against 1.06x kept by the
parse (a subject pattern: 1.04-1.11x). Only mail parsed without the name (before the mapping
was saved) still has it read from the raw mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from deskterm.channels.typed import FieldMapping, TicketsConfig
from deskterm.desk import field_values as custom_fields
from deskterm.mail import patterns
from deskterm.mail.parse import ParsedMail
from deskterm.mail.raw_headers import header_value
from deskterm.store import blobs
from deskterm.store.models import ConversationType, TypeField

log = logging.getLogger(__name__)

MAX_NAME = 120  # characters of the subject an attached mail's file name keeps


@dataclass
class Filled:
    """What one new conversation gets: its field rows, the notes for its first message, and
    the raw mail as an attachment (sha256, size, file name) when the channel asks for it."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attachment: tuple[str, int, str] | None = None


class NewConversations:
    """A channel's `[tickets]` settings, applied to each mail that starts a conversation."""

    def __init__(self, tickets: TicketsConfig) -> None:
        self.tickets = tickets
        found = None
        if tickets.default_type:
            found = ConversationType.get_or_none(ConversationType.name == tickets.default_type)
        # A default type removed since the channel was saved: new conversations are untyped.
        self.type_id: int | None = found.id if found else None
        self.fields: list[TypeField] = custom_fields.fields_of_type(self.type_id)
        names = {f.name for f in self.fields}
        self.mappings = [m for m in tickets.mappings if m.field in names]
        # What the parse keeps for them, in the pool's workers (ParsedMail.mapped_headers).
        wanted = (m.header for m in self.mappings if m.source == "header" and m.header)
        self.headers: tuple[str, ...] = tuple(dict.fromkeys(wanted))

    @property
    def active(self) -> bool:
        return bool(self.fields) or self.tickets.email_as_attachment

    def fill(self, conversation_id: int, mail: ParsedMail, raw_rel: str | None) -> Filled:
        """The rows and notes for a new conversation (never raises for anything in the mail)."""
        filled = Filled()
        raw: list[bytes | None] = []  # read once, when first wanted

        def raw_mail() -> bytes | None:
            if not raw:
                try:
                    raw.append(blobs.read_raw(raw_rel) if raw_rel else None)
                except (OSError, ValueError) as exc:
                    filled.notes.append(f"the raw mail could not be read ({type(exc).__name__})")
                    raw.append(None)
            return raw[0]

        found: dict[str, str] = {}
        defaults: dict[str, str] = {}  # a mapping's own default, before the field's
        for mapping in self.mappings:
            if mapping.default:
                defaults.setdefault(mapping.field, mapping.default)
            if found.get(mapping.field):
                continue  # the first mapping that finds a value wins
            try:
                found[mapping.field] = mapped(mapping, mail, raw_mail)
            except patterns.PatternTimeout as exc:
                filled.notes.append(f"{mapping.field}: {exc}; the default was kept")
            except Exception as exc:  # a hostile mail must never stop the batch
                log.warning("mapping to %s failed: %s", mapping.field, type(exc).__name__)
                filled.notes.append(f"{mapping.field}: the mapping failed ({type(exc).__name__})")
        given = {**defaults, **{name: value for name, value in found.items() if value}}
        filled.rows, notes = custom_fields.initial_rows(conversation_id, self.fields, given)
        filled.notes.extend(notes)
        if self.tickets.email_as_attachment:
            data = raw_mail()
            if data is not None:
                filled.attachment = (blobs.store_attachment(data), len(data), file_name(mail))
        return filled


def mapped(mapping: FieldMapping, mail: ParsedMail, raw_mail: Any) -> str:
    """The value a mapping reads from a mail ("" when the mail has none)."""
    if mapping.source == "subject":
        text = mail.subject
    elif mapping.source == "body":
        text = mail.text
    elif mapping.source == "sender":
        text = mail.from_addr
    elif mapping.source == "importance":
        text = mail.priority  # high | normal | low, from whichever header the client used
    elif mapping.header.lower() in mail.mapped_headers:  # kept by the parse: the usual way
        text = mail.mapped_headers[mapping.header.lower()]
    else:  # parsed without asking for it (see mail.raw_headers)
        data = raw_mail()
        text = header_value(data, mapping.header) if data is not None else ""
    if mapping.pattern and text:
        text = patterns.first_match(mapping.pattern, text) or ""
    return text.strip()


def file_name(mail: ParsedMail) -> str:
    """The attached mail's file name: its subject, made safe for a file system (the desk's
    attachment saver sanitises it again), with `.eml`."""
    subject = "".join(c if c.isalnum() or c in " -_.,()[]" else "_" for c in mail.subject)
    subject = " ".join(subject.split()).strip(" .")[:MAX_NAME] or "message"
    return f"{subject}.eml"
