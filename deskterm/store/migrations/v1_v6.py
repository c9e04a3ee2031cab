"""Schema versions 1 to 6: the mail desk of one person (its first tables, the conversation
list's index and SQLite's full-text search, lighter messages, contact aliases and the age
window's anchor, each mail's fetch, the OAuth2 sign-in record), and `_unbounded_text`, which
every later migration that makes tables uses too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import peewee

from deskterm.store import db as dbmod


def _v1_initial(database: peewee.Database) -> None:
    from deskterm.store.models import ALL_MODELS

    database.create_tables(ALL_MODELS)
    if not dbmod.is_sqlite(database):
        _unbounded_text(database, ALL_MODELS)


def _unbounded_text(database: peewee.Database, models: Sequence[type[peewee.Model]]) -> None:
    """Every CharField as TEXT: peewee makes it VARCHAR(255), which SQLite ignores and other
    engines enforce, and mail has longer values (Message-IDs up to 998 characters, names of
    any length): one of them failed its whole batch there, at every poll."""
    for model in models:
        columns = [
            f.column_name for f in model._meta.sorted_fields if isinstance(f, peewee.CharField)
        ]
        if columns:
            changes = ", ".join(f'ALTER COLUMN "{c}" TYPE TEXT' for c in columns)
            database.execute_sql(f'ALTER TABLE "{model._meta.table_name}" {changes}')


FTS_COLUMNS = "subject, from_addr, from_name, text"  # of message, indexed by message_fts
_NEW = "new.subject, new.from_addr, new.from_name, new.text"


def _v2_list_index_and_search(database: peewee.Database) -> None:
    """The conversation list's order as one index, and full-text search over messages.

    FTS5 exists only in SQLite (PostgreSQL's own full-text search came with v8). The index is
    kept by triggers, so every write path (the batch writer, the ORM, the outbox) feeds it
    without knowing.
    """
    database.execute_sql(
        'CREATE INDEX IF NOT EXISTS "conversation_list_order" '
        'ON "conversation" ("status", "updated_at", "id")'
    )
    if not dbmod.is_sqlite(database):
        return
    columns, new = FTS_COLUMNS, _NEW
    old = "old.subject, old.from_addr, old.from_name, old.text"
    for statement in (
        f"CREATE VIRTUAL TABLE message_fts USING fts5({columns}, content='message', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
        f"INSERT INTO message_fts(rowid, {columns}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
        f"INSERT INTO message_fts(message_fts, rowid, {columns}) "
        f"VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER message_fts_update AFTER UPDATE OF {columns} ON message BEGIN "
        f"INSERT INTO message_fts(message_fts, rowid, {columns}) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO message_fts(rowid, {columns}) VALUES (new.id, {new}); END",
        "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
    ):
        database.execute_sql(statement)


def _v3_lighter_messages(database: peewee.Database) -> None:
    """Lighter writes: messages without their HTML, fewer conversation indexes, and search
    indexed a batch at a time.

    The HTML of a message was stored beside its display text and never read again; it stays
    in the raw message. The insert trigger of v2 now asks `search_control` first, so a batch
    writer can index its messages in one statement (see `search_index.deferred`); the switch is
    only ever on inside that writer's own transaction, so for everyone else nothing changed.
    """
    if "html" in {c.name for c in database.get_columns("message")}:  # v1 made from models
        database.execute_sql('ALTER TABLE "message" DROP COLUMN "html"')
    # Two indexes every new conversation paid for: status leads conversation_list_order, and
    # the first Message-ID is kept as metadata but never looked up.
    database.execute_sql('DROP INDEX IF EXISTS "conversation_status"')
    database.execute_sql('DROP INDEX IF EXISTS "conversation_thread_message_id"')
    if not dbmod.is_sqlite(database):
        return
    for statement in (
        "CREATE TABLE search_control (deferred INTEGER NOT NULL)",
        "INSERT INTO search_control (deferred) VALUES (0)",
        "DROP TRIGGER message_fts_insert",
        f"CREATE TRIGGER message_fts_insert AFTER INSERT ON message "
        f"WHEN (SELECT deferred FROM search_control) = 0 BEGIN "
        f"INSERT INTO message_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {_NEW}); END",
    ):
        database.execute_sql(statement)


def _v4_aliases_and_window_anchor(database: peewee.Database) -> None:
    """Contact aliases, the day each folder was first synced (the age window's anchor), and
    each message's notes on what its text does not show."""
    from deskterm.store.models import ContactAlias, FolderState

    if "notes" not in {c.name for c in database.get_columns("message")}:
        database.execute_sql('ALTER TABLE "message" ADD COLUMN "notes" TEXT')

    table = FolderState._meta.table_name
    if "first_sync_on" not in {c.name for c in database.get_columns(table)}:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "first_sync_on" DATE')
    if not database.table_exists(ContactAlias._meta.table_name):  # v1 made from models
        database.create_tables([ContactAlias])
        if not dbmod.is_sqlite(database):
            _unbounded_text(database, [ContactAlias])
    # Folders synced before this version: their window counts from today on, as it did.
    FolderState.update(first_sync_on=date.today()).where(
        FolderState.first_sync_on.is_null()
    ).execute()


def _v5_fetch_sources(database: peewee.Database) -> None:
    """Each message and skipped row keeps the fetch it came from (ingest.source_of), so a mail
    fetched again is recognised as itself, and a duplicate names its stored twin.

    Dedup keys made before this version hashed a text preview (issue 11: distinct mails
    merged); they stay as they are: a new key never equals an old one, so mail already stored
    is only stored again if its folder is re-scanned (a changed UIDVALIDITY).
    """
    from deskterm.store.models import Message, SkippedMail

    text = "TEXT" if not dbmod.is_sqlite(database) else "VARCHAR(255)"
    message, skipped = Message._meta.table_name, SkippedMail._meta.table_name
    for table, column, kind in (
        (message, "source", text),
        (skipped, "source", text),
        (skipped, "twin_message", "INTEGER"),
    ):
        if column not in {c.name for c in database.get_columns(table)}:  # v1 made from models
            database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind}')
    for table in (message, skipped):  # the names peewee gives them on a new desk
        database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_source" ON "{table}" ("source")')


def _v6_oauth_token_record(database: peewee.Database) -> None:
    """Each channel's record of its OAuth2 sign-ins (when a refresh token was stored and last
    refreshed, never the token), so `channel show` can tell without opening the secret store."""
    from deskterm.store.models import Channel

    table = Channel._meta.table_name
    if "oauth_tokens" not in {c.name for c in database.get_columns(table)}:  # v1 from models
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "oauth_tokens" TEXT')
