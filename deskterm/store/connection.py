"""Opening the desk's database.

This is the only module that knows which database engine is in use: the embedded SQLite file
by default (WAL, so the worker writes while the UI reads), or whatever `DESKTERM_DATABASE_URL`
names (PostgreSQL for a shared team desk). Everything else talks to peewee models.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit, urlunsplit

import peewee
from playhouse.db_url import connect

from deskterm import paths, settings
from deskterm.errors import ConfigError
from deskterm.store import migrations, presence_file
from deskterm.store.advisory import AdvisoryLocks
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


def shared_database() -> bool:
    """Whether the desk is a shared PostgreSQL database (a team desk), where workers on many
    machines elect one leader per channel, rather than one machine's SQLite file."""
    return (database_url() or "").startswith("postgres")


def channel_locks() -> AdvisoryLocks | None:
    """The advisory locks that elect each channel's worker on a team desk (see
    store.advisory); None for an SQLite desk, whose one worker holds the desk's file lock."""
    url = database_url()
    if url is None or not shared_database():
        return None
    return AdvisoryLocks(_libpq_url(url))


def _libpq_url(url: str) -> str:
    """peewee's URL schemes that libpq does not know (postgresext+pool://) as postgresql://."""
    return "postgresql:" + url.split(":", 1)[1]


def open_database(*, migrate: bool = True) -> peewee.Database:
    """Connect the models to the desk's database and bring its schema up to date."""
    url = database_url()
    db = url_database(url, "DESKTERM_DATABASE_URL") if url else sqlite_database()
    database.initialize(db)
    db.connect(reuse_if_open=True)
    if migrate:
        migrations.migrate(db)
        presence_file.install(db)  # its file may have been deleted: it holds nothing lasting
    return db


def url_database(url: str, named: str) -> peewee.Database:
    """The database a URL names, not yet connected; `named` is how the user gave it (the
    variable or option), for the one sentence a bad URL gets."""
    try:
        return connect(url)
    except Exception as exc:  # peewee raises assorted errors for bad URLs
        raise ConfigError(
            f"{named} could not be used ({type(exc).__name__}); "
            "check it, e.g. postgresql://user@host/desk."
        ) from None


def sqlite_database() -> peewee.SqliteDatabase:
    """The home's embedded desk file, not yet connected."""
    path = paths.database_file()
    # Owner-only before SQLite opens it: its -wal, -shm and -journal files take its mode.
    paths.private_file(path)
    return presence_file.desk_sqlite(path, SQLITE_PRAGMAS)


def shown_url(url: str) -> str:
    """A database URL as it may be printed or logged: without its password, in the user part
    or as a `password=` parameter (a URL's password is a secret; libpq's ~/.pgpass is where it
    should live)."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}{at}{hostport}"
    query = "&".join(
        pair for pair in parts.query.split("&") if pair.partition("=")[0].lower() != "password"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_password(url: str) -> str | None:
    """The password a database URL carries (in its user part or as `password=`), if any: to
    keep it out of what is shown."""
    parts = urlsplit(url)
    given = parse_qs(parts.query).get("password")
    return parts.password or (given[0] if given else None)


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
