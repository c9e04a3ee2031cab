"""Schema versions, so that upgrading deskterm never loses a desk.

Each migration brings the schema from version N-1 to N inside one transaction. The embedded
SQLite file is copied aside first (see `db.backup_before_upgrade`). A desk written by a newer
deskterm is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import peewee

from deskterm import db as dbmod
from deskterm.errors import DeskError

Migration = Callable[[peewee.Database], None]


def _v1_initial(database: peewee.Database) -> None:
    from deskterm.models import ALL_MODELS

    database.create_tables(ALL_MODELS)


MIGRATIONS: Sequence[Migration] = (_v1_initial,)


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
        dbmod.backup_before_upgrade(database, version)
    for number in range(version + 1, latest + 1):
        with database.atomic():
            migrations[number - 1](database)
            SchemaVersion.delete().execute()
            SchemaVersion.create(version=number)
    return latest
