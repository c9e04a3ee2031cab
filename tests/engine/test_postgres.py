"""The desk on a real PostgreSQL server (tests/servers/pgserver.py), chosen by
DESKTERM_DATABASE_URL.

The same engine code runs on both databases, and everything that takes a different path on
PostgreSQL is driven here: the migrations (the FTS5 parts skipped), the batch writer (new ids
from RETURNING, lookups as IN lists of 500), search (by its own full-text index; that it finds
what SQLite finds is test_search_engines.py's), triage, the outbox and the CLI. Every test
gets a fresh, empty database, connected to as an ordinary role.
"""

from __future__ import annotations

from datetime import UTC, datetime

import peewee
import pytest

from deskterm import paths
from deskterm.desk import agents, list_index, queries, triage
from deskterm.desk.undo import History
from deskterm.errors import ConfigError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched, Outcome
from deskterm.mail.parse import parse
from deskterm.outbound import outbox, replies
from deskterm.store import connection, migrations, outcome_stale
from deskterm.store.models import (
    ALL_MODELS,
    Channel,
    Contact,
    Conversation,
    ConversationTag,
    Message,
    Outbox,
    SkippedMail,
)
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.engine.test_storage import row_writer_round_trip
from tests.mailfactory import make_mail

# What the JSON says of a conversation's SLA on a desk without policies (tests/engine/test_sla.py).
NO_SLA = {"due_at": None, "due_target": None, "breached": False, "due_soon": False}

pytestmark = pytest.mark.postgres

JANE = "Jane Doe <jane@customer.example>"
BOB = "Bob Smith <bob@other.example>"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=UTC)


def iso(day: int, hour: int = 9) -> str:
    return f"2025-03-{day:02d}T{hour:02d}:00:00+00:00"


def printer() -> bytes:
    return make_mail(
        "Printer on fire",
        JANE,
        body="Smoke everywhere.\n",
        message_id="<p1@customer.example>",
        date=at(3),
    )


def printer_reply() -> bytes:
    return make_mail(
        "Re: Printer on fire",
        JANE,
        body="Still burning.\n",
        message_id="<p2@customer.example>",
        in_reply_to="<p1@customer.example>",
        date=at(5),
    )


def kettle() -> bytes:
    return make_mail(
        "Kettle broken",
        BOB,
        body="The kettle does not boil.\n",
        message_id="<k1@other.example>",
        date=at(4),
    )


def fetched(*mails: bytes, first_uid: int = 1) -> list[Fetched]:
    return [Fetched(str(uid), b"", parse(raw)) for uid, raw in enumerate(mails, first_uid)]


def kinds(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    return [(o.kind, o.reason) for o in outcomes]


@pytest.fixture
def channel(pg: str, desk: Desk) -> Channel:
    desk.add_channel(DRAFT_CHANNEL)  # through the CLI, into PostgreSQL
    connection.open_database()
    return Channel.get(Channel.name == "support")


@pytest.fixture
def two(channel: Channel) -> tuple[int, int]:
    """The printer conversation (Jane, with her reply) and the kettle one (Bob)."""
    outcomes = Ingestor(channel).apply(fetched(printer(), kettle()))
    Ingestor(channel).apply(fetched(printer_reply(), first_uid=3))
    return outcomes[0].conversation_id, outcomes[1].conversation_id


# --- schema -----------------------------------------------------------------------------------


def test_migrations_reach_the_latest_version_and_reopening_keeps_the_data(pg: str) -> None:
    database = connection.open_database()
    assert isinstance(database, peewee.PostgresqlDatabase)
    latest = len(migrations.MIGRATIONS)
    assert migrations.current_version(database) == latest
    # The SQLite-only parts (FTS5 table, triggers, search switch) are skipped by design.
    assert set(database.get_tables()) == {
        "deskterm_schema",
        outcome_stale.TABLE,  # the database's own queue, not a model: never moved
        *(model._meta.table_name for model in ALL_MODELS),
    }
    assert {i.name for i in database.get_indexes("conversation")} == {
        "conversation_pkey",
        "conversation_assignee",
        "conversation_channel_id",
        "conversation_contact_id",
        "conversation_list_order",
        "conversation_updated_at",
        "conversation_type_id",
        "conversation_due_order",  # the list by SLA due time (v11)
        "conversation_sla_alert",  # the worker's look for SLA notices
        "conversation_report",  # what a report reads, led by the creation time (v17, v18)
    }
    assert "html" not in {c.name for c in database.get_columns("message")}
    assert not paths.database_file().exists()  # nothing went to an embedded desk
    Channel.create(name="support", settings={"name": "support"})
    connection.close_database()

    database = connection.open_database()
    assert migrations.migrate(database) == latest
    assert [c.name for c in Channel.select()] == ["support"]
    assert [v.version for v in migrations.SchemaVersion.select()] == [latest]


def test_upgrading_a_version_1_desk_keeps_its_mail_and_leaves_no_backup_file(pg: str) -> None:
    database = connection.open_database(migrate=False)
    assert migrations.migrate(database, migrations.MIGRATIONS[:1]) == 1
    database.execute_sql('ALTER TABLE "message" ADD COLUMN "html" TEXT')  # as old desks had it
    channel = Channel.create(name="support", settings={})
    conversation = Conversation.create(channel=channel, subject="Printer on fire")
    Message.create(conversation=conversation, direction="in", text="smoke", dedup_key="k1")
    connection.close_database()

    database = connection.open_database()
    assert migrations.current_version(database) == len(migrations.MIGRATIONS)
    assert "html" not in {c.name for c in database.get_columns("message")}
    assert "conversation_list_order" in {i.name for i in database.get_indexes("conversation")}
    assert [(m.conversation_id, m.text) for m in Message.select()] == [(conversation.id, "smoke")]
    assert list(paths.home().glob("*.bak")) == []  # PostgreSQL has its own backups


def test_no_text_column_has_a_length_limit(pg: str) -> None:
    """SQLite ignores VARCHAR(255); PostgreSQL enforces it, so the desk asks for TEXT."""
    database = connection.open_database()
    limited = database.execute_sql(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND character_maximum_length IS NOT NULL"
    ).fetchall()
    assert limited == []


# --- the batch writer -------------------------------------------------------------------------


def test_a_batch_becomes_conversations_and_a_later_reply_threads_by_in_reply_to(
    channel: Channel,
) -> None:
    first = Ingestor(channel).apply(fetched(printer(), kettle()))
    assert kinds(first) == [("ingested", ""), ("ingested", "")]
    printer_id, kettle_id = (o.conversation_id for o in first)
    assert sorted([printer_id, kettle_id]) == sorted(c.id for c in Conversation.select())
    triage.set_status(printer_id, "resolved")

    # A later batch: the thread is found in the database (not in the batch), and the
    # conversation's state read back from PostgreSQL's own types (boolean, timestamp, text).
    [reply] = Ingestor(channel).apply(fetched(printer_reply(), first_uid=3))
    assert (reply.kind, reply.conversation_id) == ("ingested", printer_id)
    conversation = Conversation.get_by_id(printer_id)
    assert (conversation.status, conversation.message_count, conversation.unread) == (
        "open",  # the customer answered a resolved conversation
        2,
        True,
    )
    assert conversation.updated_at == datetime(2025, 3, 5, 9, 0)
    assert conversation.references == ["<p1@customer.example>", "<p2@customer.example>"]
    assert Contact.select().count() == 2
    assert Conversation.get_by_id(kettle_id).message_count == 1

    detail = queries.conversation_detail(printer_id)
    assert detail == {
        "id": printer_id,
        "subject": "Printer on fire",
        "status": "open",
        "priority": "normal",
        "contact": "jane@customer.example",
        "reply_to": None,
        "channel": "support",
        "assignee": None,
        "type": None,
        "fields": [],
        "created_at": iso(3),
        "updated_at": iso(5),
        **NO_SLA,
        "warn_at": None,  # the thread's due line (screens/thread_fields.py)
        "due_local": None,
        "messages": [
            {
                "direction": "in",
                "agent": None,  # received mail has no author among the agents
                "agent_name": None,
                "sent_by": None,
                "from": "jane@customer.example",
                "from_name": "Jane Doe",
                "to": ["support@desk.test"],
                "cc": [],
                "reply_to": None,
                "date": iso(3),
                "subject": "Printer on fire",
                "message_id": "<p1@customer.example>",
                "in_reply_to": None,
                "text": "Smoke everywhere.\n",
                "notes": {},
                "state": "received",
                "attachments": [],
                "routing": [],
            },
            {
                "direction": "in",
                "agent": None,  # received mail has no author among the agents
                "agent_name": None,
                "sent_by": None,
                "from": "jane@customer.example",
                "from_name": "Jane Doe",
                "to": ["support@desk.test"],
                "cc": [],
                "reply_to": None,
                "date": iso(5),
                "subject": "Re: Printer on fire",
                "message_id": "<p2@customer.example>",
                "in_reply_to": "<p1@customer.example>",
                "text": "Still burning.\n",
                "notes": {},
                "state": "received",
                "attachments": [],
                "routing": [],
            },
        ],
    }


def test_a_reply_in_the_same_batch_threads_too(channel: Channel) -> None:
    outcomes = Ingestor(channel).apply(fetched(printer(), kettle(), printer_reply()))
    assert kinds(outcomes) == [("ingested", "")] * 3
    assert outcomes[2].conversation_id == outcomes[0].conversation_id
    assert outcomes[1].conversation_id != outcomes[0].conversation_id
    assert Conversation.get_by_id(outcomes[0].conversation_id).message_count == 2


def test_the_same_mail_applied_twice_is_stored_once(channel: Channel) -> None:
    Ingestor(channel).apply(fetched(printer(), kettle()))
    again = Ingestor(channel).apply(fetched(kettle(), printer(), first_uid=7))
    assert kinds(again) == [("skipped", "duplicate"), ("skipped", "duplicate")]
    assert Message.select().count() == 2
    assert Conversation.select().count() == 2
    skipped = SkippedMail.select().order_by(SkippedMail.id)
    assert [(s.uid, s.message_id, s.reason) for s in skipped] == [
        ("7", "<k1@other.example>", "duplicate"),
        ("8", "<p1@customer.example>", "duplicate"),
    ]
    # Within one batch too: the second copy is a duplicate of the first.
    twice = Ingestor(channel).apply(fetched(printer_reply(), printer_reply(), first_uid=9))
    assert kinds(twice) == [("ingested", ""), ("skipped", "duplicate")]
    assert Message.select().count() == 3


def test_lookups_of_more_than_500_keys_find_every_one(channel: Channel) -> None:
    """select_in asks 500 values at a time: the second chunk must be asked too."""
    mails = [
        make_mail(
            f"Question {n}",
            f"Customer {n} <c{n}@customer.example>",
            message_id=f"<q{n}@customer.example>",
            date=at(6),
        )
        for n in range(520)
    ]
    assert kinds(Ingestor(channel).apply(fetched(*mails))) == [("ingested", "")] * 520
    again = Ingestor(channel).apply(fetched(*mails))
    assert kinds(again) == [("skipped", "duplicate")] * 520
    replies = [
        make_mail(
            f"Re: Question {n}",
            f"c{n}@customer.example",
            in_reply_to=f"<q{n}@customer.example>",
            date=at(7),
        )
        for n in range(520)
    ]
    threaded = Ingestor(channel).apply(fetched(*replies, first_uid=1000))
    assert [o.kind for o in threaded] == ["ingested"] * 520
    by_subject = dict(Conversation.select(Conversation.subject, Conversation.id).tuples())
    assert [o.conversation_id for o in threaded] == [
        by_subject[f"Question {n}"] for n in range(520)
    ]
    assert Contact.select().count() == 520
    assert Conversation.select().where(Conversation.message_count == 2).count() == 520


def test_the_row_writer_returns_ids_and_writes_what_the_orm_reads(channel: Channel) -> None:
    row_writer_round_trip(channel)


def test_long_message_ids_and_sender_names_are_stored_whole(channel: Channel) -> None:
    """Mail allows Message-IDs up to 998 characters and names of any length; a VARCHAR(255)
    column refused them and, the batch being one transaction, every mail of the batch."""
    long_id = "<" + "a" * 400 + "@customer.example>"
    long_name = "Customer " + "with a very long name " * 20
    first = make_mail(
        "Long", f'"{long_name}" <long@customer.example>', message_id=long_id, date=at(3)
    )
    reply = (  # by hand: the email package would encode the long header as encoded words
        b"From: long@customer.example\r\nTo: support@desk.test\r\nSubject: Re: Long\r\n"
        b"Message-ID: <long2@customer.example>\r\nIn-Reply-To: " + long_id.encode() + b"\r\n"
        b"Date: Tue, 04 Mar 2025 09:00:00 +0000\r\n\r\nStill long.\r\n"
    )
    outcomes = Ingestor(channel).apply(fetched(first, kettle()))
    assert kinds(outcomes) == [("ingested", ""), ("ingested", "")]
    [threaded] = Ingestor(channel).apply(fetched(reply, first_uid=3))
    assert threaded.conversation_id == outcomes[0].conversation_id
    stored = Message.get(Message.message_id == long_id)
    assert (stored.from_name, len(stored.message_id)) == (long_name.strip(), len(long_id))
    assert Conversation.get_by_id(outcomes[0].conversation_id).thread_message_id == long_id
    assert Contact.get(Contact.email == "long@customer.example").name == long_name.strip()


def test_nul_characters_in_mail_are_stored_as_replacement_characters(channel: Channel) -> None:
    """PostgreSQL text cannot hold NUL (SQLite can): it becomes U+FFFD instead of failing the
    batch, everywhere alike, so the sender is still one contact across batches."""
    raw = (
        b"From: Ja\x00ne <ja\x00ne@customer.example>\r\nTo: support@desk.test\r\n"
        b"Subject: Bro\x00ken\r\nMessage-ID: <nul@customer.example>\r\n"
        b"Date: Mon, 03 Mar 2025 09:00:00 +0000\r\n\r\nUTF-16 t\x00e\x00x\x00t\r\n"
    )
    second = raw.replace(b"<nul@", b"<nul2@").replace(b"Bro\x00ken", b"Again")
    assert kinds(Ingestor(channel).apply(fetched(raw, kettle()))) == [("ingested", "")] * 2
    assert kinds(Ingestor(channel).apply(fetched(raw, second))) == [
        ("skipped", "duplicate"),
        ("ingested", ""),
    ]
    stored = Message.get(Message.message_id == "<nul@customer.example>")
    # An address holding a control character is not an address (issue 10): no contact is made
    # of it; the rest of the mail is stored with U+FFFD for each NUL.
    assert (stored.from_addr, stored.subject, stored.text) == (
        "",
        "Bro\ufffdken",
        "UTF-16 t\ufffde\ufffdx\ufffdt\n",
    )
    assert "\x00" not in stored.from_name and "Ja\ufffdne" in stored.from_name
    assert Contact.select().where(Contact.email.startswith("ja")).count() == 0
    [skipped] = SkippedMail.select()
    assert (skipped.from_addr, skipped.subject) == ("", "Bro\ufffdken")


# --- queries ----------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_searches(two: tuple[int, int]) -> None:
    printer_id, kettle_id = two
    triage.set_status(kettle_id, "pending")
    row = {
        "id": printer_id,
        "subject": "Printer on fire",
        "status": "open",
        "priority": "normal",
        "contact": "jane@customer.example",
        "channel": "support",
        "messages": 2,
        "unread": True,
        "assignee": None,
        "type": None,
        "fields": {},
        "updated_at": iso(5),
        **NO_SLA,
    }
    kettle_row = {
        **row,
        "id": kettle_id,
        "subject": "Kettle broken",
        "status": "pending",
        "contact": "bob@other.example",
        "messages": 1,
        "updated_at": iso(4),
        **NO_SLA,
    }
    assert queries.list_conversations("open") == [row]
    assert queries.list_conversations("pending") == [kettle_row]
    assert queries.list_conversations("resolved") == []
    assert queries.list_conversations("all") == [row, kettle_row]  # newest activity first
    assert queries.list_conversations("all", search="boil") == [kettle_row]  # message text
    assert queries.list_conversations("all", search="BURNING") == [row]  # any case
    assert queries.list_conversations("all", search="other.example") == [kettle_row]  # contact
    assert queries.list_conversations("all", search="Re: Printer") == [row]  # subject
    assert queries.list_conversations("open", search="kettle") == []
    assert queries.list_conversations("all", search="nothing like it") == []
    assert queries.list_conversations("all", limit=1) == [row]

    assert list_index.conversation_ids("all") == [printer_id, kettle_id]
    assert list_index.conversation_ids("pending") == [kettle_id]
    assert list_index.conversation_ids("all", search="smoke") == [printer_id]
    assert list_index.conversation_ids("all", search=f"#{kettle_id}") == [kettle_id]
    # `#N` finds that conversation whatever the tab (issue 14), on PostgreSQL too
    assert list_index.conversation_ids("open", search=f"#{kettle_id}") == [kettle_id]
    assert list_index.conversation_ids("all", search="Jane Doe") == [printer_id]  # contact name
    assert list_index.conversation_ids("all", channel="support") == [printer_id, kettle_id]
    assert list_index.status_counts() == {
        "open": 1,
        "pending": 1,
        "resolved": 0,
        "closed": 0,
        "all": 2,
    }
    assert [r["id"] for r in list_index.conversation_rows([kettle_id, 999, printer_id])] == [
        kettle_id,
        printer_id,
    ]
    with pytest.raises(ConfigError, match="Status 'later' is not known"):
        queries.list_conversations("later")


def test_triage_changes_status_assignee_and_tags(two: tuple[int, int]) -> None:
    printer_id, kettle_id = two
    before = Conversation.get_by_id(printer_id).updated_at
    assert triage.set_status(printer_id, "resolved") == "resolved"
    assert triage.cycle_status(printer_id) == "closed"
    assert triage.cycle_status(printer_id) == "open"
    assert triage.set_priority(printer_id, "high") == "high"
    agents.add("alice@desk.example", "Alice Agent", handle="alice")
    assert triage.assign(printer_id, "  Alice@Desk.example ") == "alice"
    assert triage.change_tags(printer_id, "+Urgent billing -nothing") == ["billing", "urgent"]
    assert triage.change_tags(printer_id, "urgent +vip -billing") == ["urgent", "vip"]
    assert triage.add_tag(kettle_id, "urgent") == "urgent"
    assert triage.add_tag(kettle_id, "urgent") == "urgent"  # ON CONFLICT: still one row
    triage.mark_read(kettle_id)

    assert ConversationTag.select().count() == 3
    assert triage.tags(kettle_id) == ["urgent"]
    conversation = Conversation.get_by_id(printer_id)
    assert (conversation.status, conversation.priority, conversation.assignee) == (
        "open",
        "high",
        "alice",
    )
    assert conversation.updated_at == before  # triage never reorders the list
    assert Conversation.get_by_id(kettle_id).unread is False
    assert list_index.conversation_ids("all", tag="URGENT") == [printer_id, kettle_id]
    assert list_index.conversation_ids("all", tag="vip") == [printer_id]
    assert list_index.conversation_ids("all", assignee="alice") == [printer_id]
    assert list_index.conversation_ids("all", assignee="alice", tag="vip") == [printer_id]
    assert triage.assign(printer_id, None) is None
    assert list_index.conversation_ids("all", assignee="alice") == []
    with pytest.raises(NotFound, match="There is no conversation #999"):
        triage.set_status(999, "open")
    with pytest.raises(ConfigError, match="Status 'done' is not known"):
        triage.set_status(printer_id, "done")


def test_a_bulk_change_is_undone_whole_on_postgresql(two: tuple[int, int]) -> None:
    """`undo` reads a batch's conversations and tags in one query each (IN lists): the same
    answer on PostgreSQL as on SQLite."""
    printer_id, kettle_id = two
    history = History()
    triage.add_tag(kettle_id, "keep")
    triage.for_all([printer_id, kettle_id], triage.change_tags, "+vip -keep", history=history)
    triage.for_all([printer_id, kettle_id], triage.set_status, "closed", history=history)
    assert triage.undo(history) == "2 conversations are open again."
    assert triage.undo(history) == "2 conversations are as they were."
    assert (triage.tags(printer_id), triage.tags(kettle_id)) == ([], ["keep"])
    assert {Conversation.get_by_id(i).status for i in two} == {"open"}


def test_a_reply_is_queued_in_the_outbox_and_not_sent(two: tuple[int, int]) -> None:
    printer_id, _ = two
    message = replies.queue_reply(printer_id, "We are on our way with an extinguisher.")
    stored = Message.get_by_id(message.id)
    assert (stored.direction, stored.state, stored.to, stored.in_reply_to) == (
        "out",
        "queued",
        ["jane@customer.example"],
        "<p2@customer.example>",  # the latest of Jane's mails
    )
    assert (stored.from_addr, stored.subject, stored.text) == (
        "support@desk.test",
        f"Re: Printer on fire [#{printer_id}]",
        "We are on our way with an extinguisher.",
    )
    assert stored.references == ["<p1@customer.example>", "<p2@customer.example>"]
    assert (paths.mail_dir() / stored.raw_path).is_file()
    [item] = Outbox.select()
    assert (item.message_id, item.kind, item.state, item.recipient, item.attempts) == (
        message.id,
        "reply",
        "queued",
        "jane@customer.example",
        0,
    )
    conversation = Conversation.get_by_id(printer_id)
    assert (conversation.status, conversation.message_count, conversation.unread) == (
        "pending",
        3,
        False,
    )
    assert conversation.references[-1] == stored.message_id
    [listed] = outbox.listing()
    assert {k: listed[k] for k in ("id", "conversation", "channel", "kind", "state", "to")} == {
        "id": item.id,
        "conversation": printer_id,
        "channel": "support",
        "kind": "reply",
        "state": "queued",
        "to": ["jane@customer.example"],
    }
    assert (listed["attempts"], listed["error"], listed["sent_at"]) == (0, None, None)


# --- the command line -------------------------------------------------------------------------


def test_the_cli_reads_and_writes_the_postgresql_desk(two: tuple[int, int], desk: Desk) -> None:
    printer_id, kettle_id = two
    connection.close_database()
    rows = desk.json("conversations")
    assert rows == [
        {
            "id": printer_id,
            "subject": "Printer on fire",
            "status": "open",
            "priority": "normal",
            "contact": "jane@customer.example",
            "channel": "support",
            "messages": 2,
            "unread": True,
            "assignee": None,
            "type": None,
            "fields": {},
            "updated_at": iso(5),
            **NO_SLA,
        },
        {
            "id": kettle_id,
            "subject": "Kettle broken",
            "status": "open",
            "priority": "normal",
            "contact": "bob@other.example",
            "channel": "support",
            "messages": 1,
            "unread": True,
            "assignee": None,
            "type": None,
            "fields": {},
            "updated_at": iso(4),
            **NO_SLA,
        },
    ]
    assert [r["id"] for r in desk.json("conversations", "--search", "kettle")] == [kettle_id]
    assert desk.json("conversations", "--status", "pending") == []

    body = desk.home.parent / "answer.txt"
    body.write_text("Please unplug it.\n")
    desk.run("reply", str(kettle_id), "--body-file", str(body))
    assert [r["id"] for r in desk.json("conversations", "--status", "pending")] == [kettle_id]
    [queued] = desk.json("outbox")
    assert (queued["conversation"], queued["state"], queued["to"]) == (
        kettle_id,
        "queued",
        ["bob@other.example"],
    )
    shown = desk.json("show", str(kettle_id))
    assert [(m["direction"], m["text"]) for m in shown["messages"]] == [
        ("in", "The kettle does not boil.\n"),
        ("out", "Please unplug it.\n"),
    ]
    assert not paths.database_file().exists()


def test_a_report_runs_without_jit_and_the_session_keeps_it(pg: str) -> None:
    """JIT compiling cost a report's queries 200-450 ms each for 10-20 ms of running; the
    report turns it off for its own transaction only (store/dialect.without_jit)."""
    from deskterm.desk import reports
    from deskterm.desk.report_scope import scope
    from deskterm.store import dialect

    database = connection.open_database()
    assert database.execute_sql("SHOW jit").fetchone()[0] == "on"  # the server's default
    seen: list[str] = []
    real = reports._compute

    def watching(*args: object) -> object:
        seen.append(database.execute_sql("SHOW jit").fetchone()[0])
        return real(*args)  # type: ignore[arg-type]

    reports._compute = watching  # type: ignore[assignment]
    try:
        reports.compute(scope())
    finally:
        reports._compute = real  # type: ignore[assignment]
    assert seen == ["off"]
    assert database.execute_sql("SHOW jit").fetchone()[0] == "on"  # the session's own again
    with database.atomic():
        dialect.without_jit()
        assert database.execute_sql("SHOW jit").fetchone()[0] == "off"
