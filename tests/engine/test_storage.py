"""The embedded database: WAL, a versioned schema, and upgrades that never lose a desk."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import peewee
import pytest

from deskterm import paths
from deskterm.errors import DeskError
from deskterm.inbound.columns import MESSAGE_COLUMNS
from deskterm.store import bulk, connection, migrations
from deskterm.store.models import (
    Agent,
    Channel,
    Contact,
    ContactAlias,
    Conversation,
    FolderState,
    Message,
    Note,
)


@pytest.mark.sqlite_only("the desk file, WAL and its pragmas")
def test_default_desk_is_sqlite_in_wal_mode_under_desk_home(desk_home: Path) -> None:
    database = connection.open_database()
    assert Path(database.database) == desk_home / "desk.sqlite3"
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert migrations.current_version(database) == len(migrations.MIGRATIONS)


def test_every_table_of_the_model_exists() -> None:
    database = connection.open_database()
    tables = set(database.get_tables())
    assert {
        "channel",
        "contact",
        "organization",
        "organization_domain",
        "conversation",
        "conversation_tag",
        "message",
        "attachment",
        "outbox",
        "job_run",
    } <= tables


def test_opening_again_keeps_the_data() -> None:
    connection.open_database()
    Channel.create(name="support", settings={"name": "support"})
    connection.close_database()
    connection.open_database()
    assert [c.name for c in Channel.select()] == ["support"]


def test_a_desk_from_a_newer_deskterm_is_refused() -> None:
    database = connection.open_database()
    migrations.SchemaVersion.update(version=99).execute()
    with pytest.raises(DeskError, match="newer deskterm"):
        migrations.migrate(database)


@pytest.mark.sqlite_only("the desk file's backup before an upgrade")
def test_an_upgrade_keeps_data_and_leaves_a_backup() -> None:
    database = connection.open_database()
    channel = Channel.create(name="support", settings={})
    contact = Contact.create(email="jane@example.com", name="Jane")
    Conversation.create(channel=channel, contact=contact, subject="Printer on fire")

    def next_add_column(database: peewee.Database) -> None:
        database.execute_sql("ALTER TABLE conversation ADD COLUMN sla_due TEXT")

    current = len(migrations.MIGRATIONS)
    assert migrations.migrate(database, [*migrations.MIGRATIONS, next_add_column]) == current + 1
    assert migrations.current_version(database) == current + 1
    row = database.execute_sql("SELECT subject, sla_due FROM conversation").fetchone()
    assert row == ("Printer on fire", None)
    backup = paths.database_file().with_name(f"desk.sqlite3.v{current}.bak")
    assert backup.exists()
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT subject FROM conversation").fetchone() == ("Printer on fire",)
    copy.close()


def test_a_failing_migration_changes_nothing() -> None:
    database = connection.open_database()
    Channel.create(name="support", settings={})

    def next_broken(database: peewee.Database) -> None:
        database.execute_sql("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrations.migrate(database, [*migrations.MIGRATIONS, next_broken])
    assert migrations.current_version(database) == len(migrations.MIGRATIONS)
    assert "half_done" not in database.get_tables()
    assert Channel.select().count() == 1


def test_a_bad_database_url_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_DATABASE_URL", "nosuchdb://x")
    with pytest.raises(DeskError, match="DESKTERM_DATABASE_URL could not be used"):
        connection.open_database()


@pytest.mark.sqlite_only("SQLite's FTS5 table")
def test_upgrading_a_version_1_desk_adds_search_and_keeps_mail() -> None:

    database = connection.open_database(migrate=False)
    assert migrations.migrate(database, migrations.MIGRATIONS[:1]) == 1
    channel = Channel.create(name="support", settings={})
    conversation = Conversation.create(channel=channel, subject="Printer on fire")
    Message.create(
        conversation=conversation,
        direction="in",
        subject="Printer on fire",
        text="The toner smells of smoke",
        dedup_key="k1",
    )
    assert migrations.migrate(database) == len(migrations.MIGRATIONS)
    hits = database.execute_sql(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", ['"smok"*']
    ).fetchall()
    assert hits == [(1,)]


@pytest.mark.sqlite_only("SQLite's FTS5 table")
def test_upgrading_a_version_2_desk_drops_the_stored_html_and_keeps_mail() -> None:

    database = connection.open_database(migrate=False)
    assert migrations.migrate(database, migrations.MIGRATIONS[:2]) == 2
    database.execute_sql('ALTER TABLE "message" ADD COLUMN "html" TEXT')  # as v2 desks had it
    channel = Channel.create(name="support", settings={})
    conversation = Conversation.create(channel=channel, subject="Printer on fire")
    Message.create(conversation=conversation, direction="in", text="smoke", dedup_key="k1")
    assert migrations.migrate(database) == len(migrations.MIGRATIONS)
    assert "html" not in {c.name for c in database.get_columns("message")}
    assert [m.text for m in Message.select()] == ["smoke"]
    later = Message.create(conversation=conversation, direction="in", text="ashes", dedup_key="k2")
    hits = database.execute_sql(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", ['"ashes"']
    ).fetchall()
    assert hits == [(later.id,)]


def test_upgrading_a_version_3_desk_adds_aliases_notes_and_the_window_anchor() -> None:
    database = connection.open_database(migrate=False)
    assert migrations.migrate(database, migrations.MIGRATIONS[:3]) == 3
    for statement in (  # as v3 desks were: v1 builds its tables from today's models
        'ALTER TABLE "message" DROP COLUMN "notes"',
        'ALTER TABLE "folder_state" DROP COLUMN "first_sync_on"',
        'DROP TABLE "contact_alias"',
    ):
        database.execute_sql(statement)
    channel = Channel.create(name="support", settings={})
    mark = database.param  # ? on SQLite, %s on PostgreSQL
    database.execute_sql(
        'INSERT INTO "folder_state" (channel_id, folder, last_uid) '
        f"VALUES ({mark}, {mark}, {mark})",
        (channel.id, "INBOX", 41),
    )
    conversation = Conversation.create(channel=channel, subject="Printer on fire")
    Message.create(conversation=conversation, direction="in", text="smoke", dedup_key="k1")
    assert migrations.migrate(database) == len(migrations.MIGRATIONS)
    assert [(m.text, m.notes) for m in Message.select()] == [("smoke", None)]
    [state] = FolderState.select()
    assert (state.last_uid, state.first_sync_on) == (41, date.today())  # counts from today
    contact = Contact.create(email="jane@customer.example")
    ContactAlias.create(email="jane@home.example", contact=contact)
    assert [a.email for a in contact.aliases] == ["jane@home.example"]


def test_upgrading_a_version_5_desk_adds_the_oauth_record_and_keeps_its_channels() -> None:
    database = connection.open_database(migrate=False)
    assert migrations.migrate(database, migrations.MIGRATIONS[:5]) == 5
    database.execute_sql('ALTER TABLE "channel" DROP COLUMN "oauth_tokens"')  # as v5 desks were
    channel = Channel.create(name="support", settings={"name": "support"})
    assert migrations.migrate(database) == len(migrations.MIGRATIONS)
    [again] = Channel.select()
    assert (again.id, again.name, again.oauth_tokens) == (channel.id, "support", None)
    again.oauth_tokens = {"oauth2": {"stored_at": "2025-03-03T08:30:00+00:00"}}
    again.save()
    assert Channel.get_by_id(channel.id).oauth_tokens == again.oauth_tokens


def test_upgrading_a_version_6_desk_turns_its_free_text_assignees_into_agents() -> None:
    database = connection.open_database(migrate=False)
    assert migrations.migrate(database, migrations.MIGRATIONS[:6]) == 6
    for table in ("channel_lead", "presence", "mention", "note", "agent"):  # as v6 desks were
        database.execute_sql(f'DROP TABLE "{table}"')
    channel = Channel.create(name="support", settings={})
    typed = ["Sam", "sam", "Ann Lee", "Ann Lee", None, "  ops@Desk.example "]
    ids = [Conversation.create(channel=channel, assignee=a).id for a in typed]
    assert migrations.migrate(database) == len(migrations.MIGRATIONS)
    agents = {a.name: a.handle for a in Agent.select()}
    assert agents == {
        "Sam": "sam-2",  # "sam" was already a handle: it keeps it
        "sam": "sam",
        "Ann Lee": "ann-lee",
        "  ops@Desk.example ": "ops-desk.example",
    }
    assert [Conversation.get_by_id(i).assignee for i in ids] == [
        "sam-2",
        "sam",
        "ann-lee",
        "ann-lee",
        None,
        "ops-desk.example",
    ]
    assert not Note.select().exists()  # the new tables are there, empty


def test_the_bulk_writer_stores_what_the_orm_reads_back() -> None:
    connection.open_database()
    row_writer_round_trip(Channel.create(name="support", settings={}))


def row_writer_round_trip(channel: Channel) -> None:
    """The bulk writer's ids and rows, read back through the ORM (shared with test_postgres)."""
    conversation = Conversation.create(channel=channel, subject="x")
    writer = bulk.RowWriter(Message, MESSAGE_COLUMNS)
    when = datetime(2025, 3, 3, 8, 30)
    row = {
        "conversation": conversation.id,
        "direction": "in",
        "message_id": "<m@x>",
        "in_reply_to": None,
        "references": ["<r@x>"],
        "from_addr": "a@b.c",
        "from_name": "",
        "to": ["a@b.c", "d@e.f"],
        "cc": [],
        "reply_to": None,
        "subject": "Hi",
        "date": when,
        "text": "body",
        "headers": {"x-priority": "1"},
        "notes": {"remote_images": 2},
        "raw_path": None,
        "size": 1234,
        "dedup_key": "k1",
        "source": "1\tINBOX\t7\t42",
        "state": "received",
        "created_at": when,
    }
    first = writer.insert(row)
    second = writer.insert({**row, "dedup_key": "k2", "to": []})
    assert second == first + 1
    writer.insert_many([{**row, "dedup_key": "k3"}, {**row, "dedup_key": "k4", "notes": None}])
    changed = {**row, "dedup_key": "k2", "subject": "changed", "to": [], "cc": ["x@y.z"]}
    writer.update_many([(second, changed)])
    stored = [
        {
            "id": m.id,
            **{
                name: getattr(m, f"{name}_id" if name == "conversation" else name)
                for name in MESSAGE_COLUMNS
            },
        }
        for m in Message.select().order_by(Message.id)
    ]
    assert stored == [
        {"id": first, **row},
        {"id": second, **changed},
        {"id": second + 1, **row, "dedup_key": "k3"},
        {"id": second + 2, **row, "dedup_key": "k4", "notes": None},
    ]
    assert bulk.select_in(
        Message, ["dedup_key"], "id", [second + 2, first, 999], order_by_id=True
    ) == [
        ("k1",),
        ("k4",),
    ]


@pytest.mark.sqlite_only
def test_v15_gives_replies_an_author_column_and_moves_presence_out_of_the_desk_file() -> None:
    """An SQLite desk of v14: presence in the desk's own file (every beat a commit the live
    watcher counted), no author on messages. Opening it migrates both."""
    from deskterm.store import connection, migrations, presence_file
    from deskterm.store.db import database

    db = connection.open_database()
    db.execute_sql('CREATE TABLE "main"."presence" ("id" INTEGER NOT NULL PRIMARY KEY)')
    db.execute_sql('ALTER TABLE "message" DROP COLUMN "agent"')
    migrations.SchemaVersion.update(version=14).execute()
    connection.close_database()

    db = connection.open_database()
    assert migrations.current_version(db) == len(migrations.MIGRATIONS)
    assert "agent" in {c.name for c in db.get_columns("message")}
    assert "presence" not in db.get_tables()  # the desk file's own is gone
    attached = db.execute_sql('SELECT name FROM "presence".sqlite_master').fetchall()
    assert ("presence",) in attached and presence_file.attached(database.obj)
