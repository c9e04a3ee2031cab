"""The rows a mail that passed dedup and the filters becomes: its message, its attachments and
its conversation's state (a new conversation, or one more message in an existing one).

Apart from ingest, which decides where each fetched mail ends (dedup, filters, routing, the
batch's one transaction): this module only writes what was decided, and keeps in `Batch` what
one batch learns as it goes, since later mail in a batch may reply to earlier mail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deskterm.desk import status as lifecycle
from deskterm.inbound import columns
from deskterm.inbound.mappings import Filled
from deskterm.inbound.senders import Senders
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import ParsedMail
from deskterm.store.bulk import RowWriter, select_in
from deskterm.store.db import utcnow
from deskterm.store.models import Conversation, Message

REFERENCES_KEPT = 50
MAX_PARTICIPANTS = 100  # Cc'd people a conversation keeps (its contact aside)


class ConversationRows:
    """Writes a batch's kept mail for one channel: the message and conversation rows through
    prepared statements (`RowWriter`), the state of the conversations it touches in `Batch`
    (written back by the caller in one update per batch)."""

    def __init__(
        self,
        channel_id: int,
        clock: Callable[[], datetime],
        senders: Senders,
        own_addresses: set[str],
        type_id: int | None,
    ) -> None:
        """`type_id`: the conversation type the channel's [tickets] give new conversations."""
        self.channel_id = channel_id
        self.clock = clock
        self.own_addresses = own_addresses
        self.type_id = type_id
        self._senders = senders
        self._messages = RowWriter(Message, columns.MESSAGE_COLUMNS)
        self._conversations = RowWriter(Conversation, columns.CONVERSATION_COLUMNS)

    def new_conversation(self, mail: ParsedMail, work: Batch) -> int:
        when = mail.date or utcnow()
        state = {
            "contact": self._senders.contact(mail),
            "subject": mail.subject or "(no subject)",
            "email_subject": mail.subject,
            "priority": mail.priority,
            "thread_message_id": mail.message_id,
            "status": lifecycle.customer_wrote(None),
            "unread": True,
            "message_count": 0,
            "references": [],
            "cc": [],
            "created_at": when,
            "updated_at": when,
            "conversation_type": self.type_id,
        }
        self.add_to_state(state, mail)  # inserted as its first message leaves it: no update
        # The SLA clock starts at arrival on the desk, not at the Date of old mail (desk/sla).
        conversation_id = self._conversations.insert(
            {**state, "channel": self.channel_id, "sla_started_at": self.clock()}
        )
        work.conversations[conversation_id] = {k: state[k] for k in columns.CONVERSATION_STATE}
        work.fresh.add(conversation_id)
        return conversation_id

    def state(self, conversation_id: int, work: Batch) -> dict[str, Any]:
        if conversation_id not in work.conversations:
            self.load_states([conversation_id], work)
        return work.conversations[conversation_id]

    def load_states(self, ids: list[int], work: Batch) -> None:
        """Conversation state for a batch's replies, read in one query per 500."""
        fields = [Conversation._meta.fields[name] for name in columns.CONVERSATION_STATE]
        missing = [i for i in ids if i not in work.conversations]
        for conversation_id, *values in select_in(
            Conversation, ["id", *columns.CONVERSATION_STATE], "id", missing
        ):
            work.conversations[conversation_id] = {
                f.name: f.python_value(v) for f, v in zip(fields, values, strict=True)
            }

    def store_message(
        self,
        conversation_id: int,
        item: Fetched,
        raw_rel: str | None,
        work: Batch,
        *,
        source: str | None = None,
        outsider: bool = False,
        filled: Filled | None = None,
    ) -> int:
        """`filled`: what the channel's [tickets] made of the conversation this message
        starts (its notes go on the message, the mail as an attachment after its own)."""
        mail = item.mail
        assert mail is not None
        notes = message_notes(
            mail, outsider=outsider, same_id_as=work.same_id.get(mail.message_id or "")
        )
        if filled is not None and filled.notes:
            notes = {**(notes or {}), "fields": filled.notes[:10]}
        message_id = self._messages.insert(
            {
                "conversation": conversation_id,
                "direction": "in",
                "message_id": mail.message_id,
                "in_reply_to": mail.in_reply_to,
                "references": mail.references,
                "from_addr": mail.from_addr,
                "from_name": mail.from_name,
                "to": mail.to,
                "cc": mail.cc,
                "reply_to": mail.reply_to,
                "subject": mail.subject,
                "date": mail.date,
                "text": mail.text,
                "headers": mail.headers,
                "notes": notes,
                "raw_path": raw_rel,
                "size": mail.size,
                "dedup_key": mail.dedup_key,
                "source": source,
                "state": "received",
                "created_at": utcnow(),
            }
        )
        for part, (sha256, size) in zip(mail.attachments, item.attachments, strict=True):
            work.attachments.append(
                {
                    "message": message_id,
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "size": size,
                    "sha256": sha256,
                    "content_id": part.content_id,
                    "inline": part.inline,
                }
            )
        if filled is not None and filled.attachment is not None:
            sha256, size, name = filled.attachment
            work.attachments.append(
                {
                    "message": message_id,
                    "filename": name,
                    "content_type": "message/rfc822",
                    "size": size,
                    "sha256": sha256,
                    "content_id": None,
                    "inline": False,
                }
            )
        if mail.message_id:
            work.threads[mail.message_id] = conversation_id
            work.same_id.setdefault(mail.message_id, message_id)
        return message_id

    def add_to_state(
        self, state: dict[str, Any], mail: ParsedMail, *, outsider: bool = False
    ) -> None:
        """What one more customer message does to its conversation.

        An outsider's mail (joined by its headers alone) is counted and shown, but adds no
        participants and changes neither status nor priority nor the contact.
        """
        chain = [*state["references"], *(i for i in [mail.message_id] if i)]
        state["references"] = chain[-REFERENCES_KEPT:]
        state["message_count"] += 1
        state["unread"] = True
        state["updated_at"] = max(state["updated_at"], mail.date or utcnow())
        if outsider:
            return
        if state["contact"] is None and mail.from_addr:
            state["contact"] = self._senders.contact(mail)
        contact_email = self._senders.emails.get(state["contact"])
        # The people on the conversation, up to MAX_PARTICIPANTS: the first ones stay, and a
        # mail with a thousand Cc addresses cannot make the list (rewritten per batch) grow.
        participants = list(state["cc"] or [])
        known = set(participants) | {contact_email} | self.own_addresses
        for address in [*mail.to, *mail.cc]:
            if len(participants) >= MAX_PARTICIPANTS:
                break
            if address not in known:
                participants.append(address)
                known.add(address)
        state["cc"] = sorted(participants)
        state["status"] = lifecycle.customer_wrote(state["status"])  # the customer answered
        if mail.priority == "high":
            state["priority"] = "high"


def message_notes(
    mail: ParsedMail, *, outsider: bool = False, same_id_as: int | None = None
) -> dict[str, Any] | None:
    """What the stored text does not show, for the agent to see (None when nothing): remote
    images, which a terminal never loads (FACTS: show that they were there), tiny images
    (tracking pixels) and empty parts left out, the repairs a broken mail needed, and a body
    cut at the limit."""
    notes: dict[str, Any] = {}
    if mail.remote_images:
        notes["remote_images"] = mail.remote_images
    if mail.skipped_attachments:
        notes["dropped_parts"] = mail.skipped_attachments
    if mail.defects:
        notes["repairs"] = mail.defects
    if mail.truncated:
        notes["truncated"] = True
    if mail.text_format:  # format=flowed: the view joins the soft line breaks (mail/reflow)
        notes["format"] = mail.text_format
    if outsider:
        notes["outsider"] = True
    if same_id_as is not None:  # another mail carries this Message-ID: both are kept
        notes["same_message_id_as"] = same_id_as
    return notes or None


@dataclass
class Batch:
    """What one batch learns and writes as it goes (later mail may reply to earlier mail)."""

    known: dict[str, int]  # dedup key -> the stored message with that content
    threads: dict[str, int]
    on_record: set[str]  # source_of(folder, uid) of fetches already on record
    same_id: dict[str, int]  # Message-ID -> a stored message carrying it
    sent: set[str]  # the batch's Message-IDs that are of mail we sent
    conversations: dict[int, dict[str, Any]] = field(default_factory=dict)
    changed: set[int] = field(default_factory=set)  # conversations to write back
    fresh: set[int] = field(default_factory=set)  # conversations this batch created
    reopened: list[tuple[int, str, str, datetime]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    field_values: list[dict[str, Any]] = field(default_factory=list)  # new conversations'
    created: list[tuple[int, int, ParsedMail]] = field(default_factory=list)  # to acknowledge

    def skip(
        self,
        channel_id: int,
        item: Fetched,
        folder: str,
        source: str | None,
        raw_rel: str | None,
        reason: str,
        twin: int | None = None,
    ) -> None:
        mail = item.mail
        self.skipped.append(
            {
                "channel": channel_id,
                "folder": folder,
                "uid": item.uid,
                "message_id": mail.message_id if mail else None,
                "dedup_key": mail.dedup_key if mail else None,
                "from_addr": mail.from_addr if mail else "",
                "subject": mail.subject if mail else "",
                "reason": reason,
                "source": source,
                "twin_message": twin,
                "raw_path": raw_rel,
                "created_at": utcnow(),
            }
        )
