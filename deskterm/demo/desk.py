"""A demo desk: sample mail run through the real inbound pipeline, no mail server needed.

The bundled `.eml` files (in `mail/` beside this module) are parsed, stored and threaded
exactly as polled mail is (`prepare_batch` then `Ingestor.apply`), so the demo shows what the
desk really makes
of orders, logins, invoices, an HTML-only mail, attachments, encoded non-ASCII headers, a
thread with References, an auto-reply (skipped, with its reason) and one hostile mail whose
subject and sender carry markup and escape sequences.

The mail is dated in the week before `ANCHOR`; the Date headers are moved by (now - ANCHOR)
before ingest so the desk looks current, and tests pass a fixed `now` to get a fixed desk.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources

import peewee

from deskterm import settings
from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.demo import history as demo_history
from deskterm.desk import agents, organizations, triage
from deskterm.errors import DeskError
from deskterm.inbound import columns
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.store import connection
from deskterm.store.bulk import RowWriter, follow_given_ids
from deskterm.store.db import clock_at, database
from deskterm.store.models import Channel, Contact, Conversation, Message

ANCHOR = datetime(2024, 3, 11, 12, 0, tzinfo=UTC)
CHANNEL = "demo"
# A draft channel is never polled, and .invalid (RFC 2606) can never resolve anyway.
CHANNEL_CONFIG = {
    "name": CHANNEL,
    "status": "draft",
    "inbound": {
        "protocol": "imap",
        "host": "imap.acme-demo.invalid",
        "username": "support@acme.example",
    },
    "outbound": {
        "host": "smtp.acme-demo.invalid",
        "username": "support@acme.example",
        "from": "Acme Support <support@acme.example>",
    },
}
# The demo's team (issue 15): agents by handle, to assign to and to be (DESKTERM_AGENT=sam).
AGENTS = (
    ("sam", "Sam Carter", "sam@acme.example"),
    ("alex", "Alex Moreau", "alex@acme.example"),
    ("kim", "Kim Lee", "kim@acme.example"),
)
# Customers the desk knows by domain before the mail arrives, so the ingest files their
# senders under them (the Organizations screen, a contact's page); the others have none.
ORGANIZATIONS = (
    ("Brightlane", ("brightlane.example",)),
    ("Harbour Logistics", ("harbourlogistics.example",)),
    ("Northwind Traders", ("northwind.example",)),
)
# What an agent would already have done to some of them, so every filter shows something.
TRIAGE: dict[str, dict[str, str]] = {
    "03-invoice-vat.eml": {"assignee": "sam", "status": "pending"},
    "04-thread-export-1.eml": {"assignee": "sam", "priority": "high"},
    "11-german.eml": {"status": "pending"},
    "15-refund.eml": {"status": "resolved", "read": "yes"},
    "19-billing-address.eml": {"status": "closed", "read": "yes"},
    "22-annual.eml": {"read": "yes", "assignee": "alex"},
    "25-thanks.eml": {"status": "resolved", "read": "yes"},
}
_DATE = re.compile(rb"^Date:[ \t]*([^\r\n]*)", re.MULTILINE | re.IGNORECASE)


@dataclass
class DemoDesk:
    created: bool  # False when the home already held the demo desk
    ingested: int = 0
    skipped: int = 0
    failed: int = 0


def demo_mail() -> list[tuple[str, bytes]]:
    """The bundled sample mail, (file name, raw bytes), in file-name order."""
    folder = resources.files("deskterm.demo") / "mail"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".eml")), key=lambda f: f.name)
    return [(f.name, f.read_bytes()) for f in files]


def build_demo(now: datetime | None = None, *, history: bool = False) -> DemoDesk:
    """Fill the current desk (DESKTERM_HOME) with the demo conversations, once; with
    `history`, a week of replies, status changes and time spent too (demo/history.py: what
    the reports show; `deskterm demo` has it, the tests' demo desk does not).

    A desk that already has the demo channel is left as it is (`deskterm demo --home DIR`
    keeps a demo desk between runs); a desk with other channels is refused, so the demo
    never mixes sample mail into a real desk.
    """
    connection.open_database()
    existing = channels.all_channels()
    if any(c.name == CHANNEL for c in existing):
        return DemoDesk(created=False)
    if existing:
        raise DeskError(
            "This home already holds a real desk; give `deskterm demo` an empty --home."
        )
    channel = channels.add(channel_config.validate(CHANNEL_CONFIG))
    for handle, name, email in AGENTS:
        agents.add(email, name, handle=handle)
    for organization, domains in ORGANIZATIONS:
        organizations.add(organization, list(domains))
    shift = _shift(now)
    mail = demo_mail()
    items = [Fetched(name, _moved(raw, shift)) for name, raw in mail]
    max_body, min_attachment = settings.current().parse_limits
    prepare_batch(items, None, max_body, min_attachment)()
    # The demo's mail arrives at its own "now", which tests set in the future.
    arrival = (ANCHOR + shift).replace(tzinfo=None)
    with clock_at(arrival):  # what the desk records (skipped mail, triage) is dated then too
        outcomes = Ingestor(Channel.get_by_id(channel.id), clock=lambda: arrival).apply(
            items, "INBOX"
        )
    result = DemoDesk(created=True)
    by_file: dict[str, int] = {}
    for outcome in outcomes:
        setattr(result, outcome.kind, getattr(result, outcome.kind) + 1)
        if outcome.conversation_id is not None:
            by_file.setdefault(outcome.uid, outcome.conversation_id)
    if history:
        demo_history.apply(by_file, ANCHOR.replace(tzinfo=None), shift)
    with clock_at(arrival):
        for name, changes in TRIAGE.items():
            if name in by_file:
                _apply(by_file[name], changes)
    return result


def _apply(conversation_id: int, changes: dict[str, str]) -> None:
    if "status" in changes:
        triage.set_status(conversation_id, changes["status"])
    if "priority" in changes:
        triage.set_priority(conversation_id, changes["priority"])
    if "assignee" in changes:
        triage.assign(conversation_id, changes["assignee"])
    if "read" in changes:
        triage.mark_read(conversation_id)


def _shift(now: datetime | None) -> timedelta:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    minutes = int((now - ANCHOR).total_seconds() // 60)
    return timedelta(minutes=minutes)


def _moved(raw: bytes, shift: timedelta) -> bytes:
    """The message with its Date header moved by `shift` (the rest left byte for byte)."""
    match = _DATE.search(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
    if match is None or not shift:
        return raw
    try:
        when = parsedate_to_datetime(match.group(1).decode("ascii")) + shift
    except (TypeError, ValueError):
        return raw
    start, end = match.span(1)
    return raw[:start] + format_datetime(when).encode("ascii") + raw[end:]


SYNTHETIC_TOPICS = (
    "Where is my order {n}?",
    "Invoice {n} is wrong",
    "Cannot log in after the update",
    "Refund for order {n}",
    "Export to CSV fails",
    "Question about pricing",
    "Account locked",
    "App crashes on startup",
    "Shipping delay on order {n}",
    "Feature request: dark mode",
)
SYNTHETIC_NAMES = (
    "Alice Smith",
    "Bob Jones",
    "José Álvarez",
    "Zoë Müller",
    "山田太郎",
    "Ngozi Okafor",
)
SYNTHETIC_STATUSES = ("open",) * 6 + ("pending",) * 2 + ("resolved", "closed")
SYNTHETIC_PRIORITIES = ("normal",) * 8 + ("high", "low")


def add_synthetic(count: int, now: datetime | None = None, seed: int = 7) -> None:
    """Add `count` made-up conversations (one message each) to the demo desk, fast.

    For trying the list at scale (`deskterm demo --extra 100000`), and for the UI's scale test
    and benchmark. The rows go in through bulk inserts of values already in their stored form
    (peewee's per-value conversion took most of the time), not through the mail pipeline,
    which would need a real mail for each; the same count, seed and now give the same desk.
    """
    rng = random.Random(seed)
    channel = channels.get(CHANNEL)
    end = (now or datetime.now(UTC)).replace(tzinfo=None)
    with database.atomic():
        top = Contact.select(peewee.fn.MAX(Contact.id)).scalar() or 0
        contacts = [
            (top + i, f"customer{top + i}@synthetic.example", rng.choice(SYNTHETIC_NAMES))
            for i in range(1, 1001)
        ]
        _bulk(
            Contact,
            columns.CONTACT_COLUMNS,
            [
                {"id": number, "email": email, "name": name, "created_at": str(end)}
                for number, email, name in contacts
            ],
        )
        top_conversation = Conversation.select(peewee.fn.MAX(Conversation.id)).scalar() or 0
        top_message = Message.select(peewee.fn.MAX(Message.id)).scalar() or 0
        conversations, messages = [], []
        for i in range(1, count + 1):
            number = top_conversation + i
            when = str(end - timedelta(minutes=rng.randrange(1, 60 * 24 * 365)))
            subject = rng.choice(SYNTHETIC_TOPICS).format(n=10000 + number)
            contact_id, email, name = rng.choice(contacts)
            conversations.append(
                {
                    "id": number,
                    "channel": channel.id,
                    "contact": contact_id,
                    "subject": subject,
                    "email_subject": subject,
                    "priority": rng.choice(SYNTHETIC_PRIORITIES),
                    "status": rng.choice(SYNTHETIC_STATUSES),
                    "unread": rng.random() < 0.3,
                    "message_count": 1,
                    "references": "[]",
                    "cc": "[]",
                    "created_at": when,
                    "updated_at": when,
                }
            )
            messages.append(
                {
                    "id": top_message + i,
                    "conversation": number,
                    "direction": "in",
                    "from_addr": email,
                    "from_name": name,
                    "to": "[]",
                    "cc": "[]",
                    "references": "[]",
                    "headers": "{}",
                    "size": 0,
                    "state": "received",
                    "subject": subject,
                    "date": when,
                    "text": f"Hello, this is about: {subject}\nPlease help.\n",
                    "dedup_key": f"synthetic-{number}",
                    "created_at": when,
                }
            )
        _bulk(Conversation, columns.CONVERSATION_COLUMNS, conversations)
        _bulk(Message, columns.MESSAGE_COLUMNS, messages)


def _bulk(model: type[peewee.Model], names: list[str], rows: list[dict[str, object]]) -> None:
    """Insert rows given by id and the columns ingest writes (`names`); a column a row leaves
    out is NULL."""
    if rows:
        writer = RowWriter(model, ["id", *names])
        database.cursor().executemany(
            writer.insert_sql, [[row.get(name) for name in writer.names] for row in rows]
        )
        follow_given_ids(model)
