"""Schema versions, so that upgrading deskterm never loses a desk.

Each migration brings the schema from version N-1 to N inside one transaction. The embedded
SQLite file is copied aside first (see `backup_before_upgrade`). A desk written by a newer
deskterm is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date

import peewee

from deskterm import paths
from deskterm.errors import DeskError
from deskterm.store import db as dbmod
from deskterm.store import pg_search

Migration = Callable[[peewee.Database], None]


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


def _v7_team_desk(database: peewee.Database) -> None:
    """The team desk: agents, internal notes and their mentions, who has a conversation open,
    and which machine leads each channel. An older desk's assignees were free text: each
    distinct one becomes an agent (its text the name, a handle made from it), and the
    conversations it had are assigned to that agent's handle."""
    from deskterm.store.models import Agent, ChannelLead, Conversation, Mention, Note, Presence

    new = [Agent, Note, Mention, Presence, ChannelLead]
    fresh = [m for m in new if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)
    named = (
        Conversation.select(Conversation.assignee)
        .where(Conversation.assignee.is_null(False))
        .distinct()
    )
    texts = [text for (text,) in named.tuples()]
    # Texts that are already handles get them first, so a handle made for another text
    # ("Sam" -> "sam-2") can never be a text not yet moved, and no two assignees merge.
    texts.sort(key=lambda text: Agent.free_handle(text) != text)
    for text in texts:
        agent = Agent.create(handle=Agent.free_handle(text), name=text)
        if agent.handle != text:
            Conversation.update(assignee=agent.handle).where(
                Conversation.assignee == text
            ).execute()


def _v8_live_notifications(database: peewee.Database) -> None:
    """A PostgreSQL desk announces its changes (LISTEN/NOTIFY), so each agent's app shows
    what another agent or a worker elsewhere did within a second (store/live_triggers.py).
    SQLite needs nothing: its apps see other connections' commits by `PRAGMA data_version`."""
    from deskterm.store import live_triggers

    if dbmod.is_sqlite(database):
        return
    # Only the tables this desk has now: a later version's tables get theirs when it makes them.
    tables = [t for t in live_triggers.CONVERSATION_OF if database.table_exists(t)]
    for statement in live_triggers.statements(tables):
        database.execute_sql(statement)


def _v9_postgres_search(database: peewee.Database) -> None:
    """Full-text search on PostgreSQL with its own machinery (`pg_search`: a generated
    tsvector per message and a GIN index, accents ignored through `unaccent`), built here for
    every message the desk already holds. SQLite has had FTS5 since v2: nothing to do."""
    if not dbmod.is_sqlite(database):
        pg_search.install(database)


def _v10_types_and_fields(database: peewee.Database) -> None:
    """Conversation types and their custom fields (deskterm.desk.types, desk.fields): the
    types, their fields, each conversation's values and its type, and which agents are
    admins (who may define them and change restricted fields). No conversation has a type
    yet, and no agent is an admin: until one is named, every agent counts as one."""
    from deskterm.store import live_triggers
    from deskterm.store.models import Agent, Conversation, ConversationType, FieldValue, TypeField

    new = [ConversationType, TypeField, FieldValue]
    fresh = [m for m in new if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)
    sqlite = dbmod.is_sqlite(database)
    table = Conversation._meta.table_name
    if "type_id" not in {c.name for c in database.get_columns(table)}:  # v1 made from models
        types = ConversationType._meta.table_name
        database.execute_sql(
            f'ALTER TABLE "{table}" ADD COLUMN "type_id" INTEGER '
            f'REFERENCES "{types}" ("id") ON DELETE SET NULL'
        )
    database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_type_id" ON "{table}" ("type_id")')
    agents = Agent._meta.table_name
    if "admin" not in {c.name for c in database.get_columns(agents)}:
        false = "0" if sqlite else "false"
        database.execute_sql(
            f'ALTER TABLE "{agents}" ADD COLUMN "admin" BOOLEAN NOT NULL DEFAULT {false}'
        )
    if not sqlite:  # other agents' apps hear a field's change (store/live_triggers.py)
        for statement in live_triggers.statements([FieldValue._meta.table_name]):
            database.execute_sql(statement)


# The SLA clock's columns on conversation (v11), as each engine spells them.
_SLA_COLUMNS = (
    ("sla_policy", "INTEGER"),
    ("sla_started_at", "{time}"),
    ("first_response_at", "{time}"),
    ("sla_paused_since", "{time}"),
    ("sla_paused_seconds", "INTEGER NOT NULL DEFAULT 0"),
    ("due_at", "{time}"),
    ("due_target", "{text}"),
    ("warn_at", "{time}"),
    ("sla_alert_at", "{time}"),
)


def _v11_sla(database: peewee.Database) -> None:
    """SLA policies, each conversation's SLA clock and due time (stored, so the list sorts by
    due time at 100,000 conversations without computing it per row), and the notices sent.
    Conversations already on the desk get their clock started at their creation; a policy
    counts only from when it was made (desk/sla.py), so none is breached by its arrival."""
    from deskterm.store.models import Conversation, SlaNotice, SlaPolicy

    sqlite = dbmod.is_sqlite(database)
    kinds = {
        "time": "DATETIME" if sqlite else "TIMESTAMP",
        "text": "VARCHAR(255)" if sqlite else "TEXT",
    }
    table = Conversation._meta.table_name
    present = {c.name for c in database.get_columns(table)}
    for column, kind in _SLA_COLUMNS:
        if column not in present:  # v1 made from models already has them
            database.execute_sql(
                f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind.format(**kinds)}'
            )
    database.execute_sql(
        f'UPDATE "{table}" SET "sla_started_at" = "created_at" WHERE "sla_started_at" IS NULL'
    )
    # The list's order by due time (the open tab first), and the worker's look for notices.
    database.execute_sql(
        f'CREATE INDEX IF NOT EXISTS "conversation_due_order" '
        f'ON "{table}" ("status", "due_at", "id")'
    )
    database.execute_sql(
        f'CREATE INDEX IF NOT EXISTS "conversation_sla_alert" ON "{table}" ("sla_alert_at")'
    )
    fresh = [m for m in (SlaPolicy, SlaNotice) if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not sqlite:
        _unbounded_text(database, fresh)


def _v12_routing_rules(database: peewee.Database) -> None:
    """Routing rules (deskterm.desk.rules) and, per message, the rules that matched it. Only
    new tables: a desk made at this version has them from v1 already."""
    from deskterm.store.models import RoutingRule, RuleMatch

    fresh = [m for m in (RoutingRule, RuleMatch) if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)


def _v13_notifications_and_macros(database: peewee.Database) -> None:
    """Templates per notification kind (a kind and an optional HTML part per template; the
    templates an older desk has are replies, as they were) and macros."""
    from deskterm.store.models import Macro, Template

    table = Template._meta.table_name
    columns = {c.name for c in database.get_columns(table)}
    text = "TEXT" if not dbmod.is_sqlite(database) else "VARCHAR(255)"
    if "kind" not in columns:  # v1 made from models
        database.execute_sql(
            f'ALTER TABLE "{table}" ADD COLUMN "kind" {text} NOT NULL DEFAULT \'reply\''
        )
        database.execute_sql(
            f'UPDATE "{table}" SET "kind" = \'invitation\' WHERE "name" = \'invitation\''
        )
    if "html" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "html" TEXT')
    if not database.table_exists(Macro._meta.table_name):
        database.create_tables([Macro])
        if not dbmod.is_sqlite(database):
            _unbounded_text(database, [Macro])


def _v14_time_spent(database: peewee.Database) -> None:
    """Time spent per conversation, and each status change kept (reports: backlog over time,
    resolution times). A conversation already past open gets one change to its status now,
    dated at its latest activity (`updated_at`): the best the desk knows, so the backlog of
    an older desk ends at its real count of open and pending conversations."""
    from deskterm.store import live_triggers
    from deskterm.store.models import StatusChange, TimeEntry

    new = [StatusChange, TimeEntry]
    fresh = [m for m in new if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)
    if StatusChange in fresh:
        database.execute_sql(
            'INSERT INTO "status_change" (conversation_id, old_status, new_status, changed_at) '
            "SELECT id, 'open', status, updated_at FROM conversation WHERE status <> 'open'"
        )
    if not dbmod.is_sqlite(database):  # other agents' apps hear time logged (thread header)
        for statement in live_triggers.statements(["time_entry"]):
            database.execute_sql(statement)


def _v15_reply_authors_and_quiet_presence(database: peewee.Database) -> None:
    """Who wrote each outgoing mail (`message.agent`, a handle; the replies already sent stay
    unknown), presence out of an SQLite desk's file (store/presence_file.py: its beats made
    every app reload its list), and a PostgreSQL desk announcing changes to its agents, so
    each app forgets the agent it had read (desk/agents.py caches it)."""
    from deskterm.store import live_triggers, presence_file
    from deskterm.store.models import Agent, Message

    table = Message._meta.table_name
    if "agent" not in {c.name for c in database.get_columns(table)}:  # v1 made from models
        text = "TEXT" if not dbmod.is_sqlite(database) else "VARCHAR(255)"
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "agent" {text}')
    if dbmod.is_sqlite(database):
        presence_file.install(database)
    else:
        for statement in live_triggers.statements([Agent._meta.table_name]):
            database.execute_sql(statement)


def _v16_policies_announced(database: peewee.Database) -> None:
    """Routing rules, SLA policies, macros, types and fields announce their changes on a
    PostgreSQL desk (store/live_triggers.py `POLICY_TABLES`), so another agent's open
    Policies screen shows an admin's edit at once. No new table; SQLite needs nothing (its
    apps see every commit). A desk made at this version got them in v8 already: a re-run
    replaces them."""
    from deskterm.store import live_triggers

    if dbmod.is_sqlite(database):
        return
    tables = [t for t in live_triggers.POLICY_TABLES if database.table_exists(t)]
    for statement in live_triggers.statements(tables):
        database.execute_sql(statement)


def _v17_report_index(database: peewee.Database) -> None:
    """What a report groups conversations by, in one index led by their creation
    (desk/reports.py, desk/report_breakdown.py): a year's new conversations are then read from
    the index's range alone, not from the table's wide rows (at 100,000 conversations: the
    year's COUNT 35 ms to 4 ms on SQLite). Its cost is one more index entry per conversation
    written, moved when its assignee or type changes."""
    database.execute_sql(
        'CREATE INDEX IF NOT EXISTS "conversation_report" ON "conversation" '
        '("created_at", "channel_id", "assignee", "type_id", "contact_id")'
    )


MIGRATIONS: Sequence[Migration] = (
    _v1_initial,
    _v2_list_index_and_search,
    _v3_lighter_messages,
    _v4_aliases_and_window_anchor,
    _v5_fetch_sources,
    _v6_oauth_token_record,
    _v7_team_desk,
    _v8_live_notifications,
    _v9_postgres_search,
    _v10_types_and_fields,
    _v11_sla,
    _v12_routing_rules,
    _v13_notifications_and_macros,
    _v14_time_spent,
    _v15_reply_authors_and_quiet_presence,
    _v16_policies_announced,
    _v17_report_index,
)


class SchemaVersion(peewee.Model):
    version = peewee.IntegerField()

    class Meta:
        database = dbmod.database
        table_name = "deskterm_schema"


def current_version(database: peewee.Database) -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().first()
    return row.version if row else 0


def migrate(database: peewee.Database, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply what is missing; return the schema version now in force."""
    database.create_tables([SchemaVersion])
    version = current_version(database)
    latest = len(migrations)
    if version > latest:
        raise DeskError(
            f"This desk was written by a newer deskterm (schema {version}, this one knows "
            f"{latest}); upgrade deskterm before opening it."
        )
    if version == latest:
        return version
    if version > 0:
        backup_before_upgrade(database, version)
    for number in range(version + 1, latest + 1):
        with database.atomic():
            migrations[number - 1](database)
            SchemaVersion.delete().execute()
            SchemaVersion.create(version=number)
    return latest


def backup_before_upgrade(db: peewee.Database, from_version: int) -> str | None:
    """Copy an embedded desk aside before its schema changes, so an upgrade never loses it.

    Returns the backup's path, or None where the engine has its own backups (PostgreSQL).
    """
    if not isinstance(db, peewee.SqliteDatabase) or db.database == ":memory:":
        return None
    target = f"{db.database}.v{from_version}.bak"
    paths.private_file(target)  # a whole copy of the desk: as private as the desk
    dest = sqlite3.connect(target)
    try:
        db.connection().backup(dest)
    finally:
        dest.close()
    return target
