"""Schema versions, so that upgrading deskterm never loses a desk.

Each migration brings the schema from version N-1 to N inside one transaction. The embedded
SQLite file is copied aside first (see `backup_before_upgrade`). A desk written by a newer
deskterm is refused rather than guessed at.

The migrations themselves are in one module per era (`v1_v6`, `v7_v9`, `v10_v13`, `v14_v20`);
this one holds their order (`MIGRATIONS`), the version a desk is at, and how it is brought up
to date. A new migration goes at the end of the newest era's module (or a new one, once that
nears 400 lines) and at the end of `MIGRATIONS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import peewee

from deskterm import paths
from deskterm.errors import DeskError
from deskterm.store import db as dbmod
from deskterm.store.migrations.v1_v6 import (
    _v1_initial,
    _v2_list_index_and_search,
    _v3_lighter_messages,
    _v4_aliases_and_window_anchor,
    _v5_fetch_sources,
    _v6_oauth_token_record,
)
from deskterm.store.migrations.v7_v9 import (
    _v7_team_desk,
    _v8_live_notifications,
    _v9_postgres_search,
)
from deskterm.store.migrations.v10_v13 import (
    _v10_types_and_fields,
    _v11_sla,
    _v12_routing_rules,
    _v13_notifications_and_macros,
)
from deskterm.store.migrations.v14_v20 import (
    _v14_time_spent,
    _v15_reply_authors_and_quiet_presence,
    _v16_policies_announced,
    _v17_report_index,
    _v18_first_responses_recorded,
    _v19_outcomes_kept,
    _v20_outcomes_grouped,
)

Migration = Callable[[peewee.Database], None]


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
    _v18_first_responses_recorded,
    _v19_outcomes_kept,
    _v20_outcomes_grouped,
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
