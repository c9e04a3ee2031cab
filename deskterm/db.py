"""Opening the desk's database.

This is the only module that knows which database engine is in use: the embedded SQLite file
by default (WAL, so the worker writes while the UI reads), or whatever `DESKTERM_DATABASE_URL`
names (PostgreSQL for a shared team desk). Everything else talks to peewee models.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime

import peewee
from playhouse.db_url import connect

from deskterm import paths
from deskterm.errors import ConfigError

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # The worker and the UI share the file: wait for a lock instead of failing at once.
    "busy_timeout": 15000,
    # WAL + NORMAL is durable against process crashes (what "no mail lost" needs); only an OS
    # crash could roll back the last transactions, which are then re-fetched from the server.
    "synchronous": "normal",
}


def utcnow() -> datetime:
    """Naive UTC: stored the same way on every engine, rendered with +00:00 on output."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url() -> str | None:
    return os.environ.get("DESKTERM_DATABASE_URL") or None


def open_database(*, migrate: bool = True) -> peewee.Database:
    """Connect the models to the desk's database and bring its schema up to date."""
    from deskterm import migrations

    url = database_url()
    if url:
        try:
            db = connect(url)
        except Exception as exc:  # peewee raises assorted errors for bad URLs
            raise ConfigError(
                f"DESKTERM_DATABASE_URL could not be used ({type(exc).__name__}); "
                "check it, e.g. postgresql://user@host/desk."
            ) from None
    else:
        db = peewee.SqliteDatabase(str(paths.database_file()), pragmas=SQLITE_PRAGMAS)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    if migrate:
        migrations.migrate(db)
    return db


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


def backup_before_upgrade(db: peewee.Database, from_version: int) -> str | None:
    """Copy an embedded desk aside before its schema changes, so an upgrade never loses it.

    Returns the backup's path, or None where the engine has its own backups (PostgreSQL).
    """
    if not isinstance(db, peewee.SqliteDatabase) or db.database == ":memory:":
        return None
    target = f"{db.database}.v{from_version}.bak"
    dest = sqlite3.connect(target)
    try:
        db.connection().backup(dest)
    finally:
        dest.close()
    return target


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
