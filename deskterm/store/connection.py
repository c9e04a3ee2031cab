"""Opening the desk's database.

This is the only module that knows which database engine is in use: the embedded SQLite file
by default (WAL, so the worker writes while the UI reads), or whatever `DESKTERM_DATABASE_URL`
names (PostgreSQL for a shared team desk). Everything else talks to peewee models.
"""

from __future__ import annotations

import peewee
from playhouse.db_url import connect

from deskterm import paths, settings
from deskterm.errors import ConfigError
from deskterm.store import migrations
from deskterm.store.db import database

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # The worker and the UI share the file: wait for a lock instead of failing at once.
    "busy_timeout": 15000,
    # WAL + NORMAL is durable against process crashes (what "no mail lost" needs); only an OS
    # crash could roll back the last transactions, which are then re-fetched from the server.
    "synchronous": "normal",
}


def database_url() -> str | None:
    return settings.current().database_url


def open_database(*, migrate: bool = True) -> peewee.Database:
    """Connect the models to the desk's database and bring its schema up to date."""
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
        path = paths.database_file()
        # Owner-only before SQLite opens it: its -wal, -shm and -journal files take its mode.
        paths.private_file(path)
        db = peewee.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    if migrate:
        migrations.migrate(db)
    return db


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
