"""Opening the desk's database.

This is the only module that knows which database engine is in use: the embedded SQLite file
by default (WAL, so the worker writes while the UI reads), or whatever `DESKTERM_DATABASE_URL`
names (PostgreSQL for a shared team desk). Everything else talks to peewee models.
"""

from __future__ import annotations

import getpass
import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import peewee
from playhouse.db_url import connect

from deskterm import paths, settings
from deskterm.errors import ConfigError, DeskError
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
    return AdvisoryLocks(_libpq_url(url), params=password_params(url))


def _libpq_url(url: str) -> str:
    """peewee's URL schemes that libpq does not know (postgresext+pool://) as postgresql://."""
    return "postgresql:" + url.split(":", 1)[1]


def open_database(*, migrate: bool = True) -> peewee.Database:
    """Connect the models to the desk's database and bring its schema up to date."""
    url = database_url()
    db = url_database(url, "DESKTERM_DATABASE_URL") if url else sqlite_database()
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        if url is None:
            raise
        raise unreachable(exc, url, "DESKTERM_DATABASE_URL") from None
    if migrate:
        migrations.migrate(db)
        presence_file.install(db)  # its file may have been deleted: it holds nothing lasting
    return db


def url_database(url: str, named: str) -> peewee.Database:
    """The database a URL names, not yet connected; `named` is how the user gave it (the
    variable or option), for the one sentence a bad URL gets."""
    try:
        return connect(url, **password_params(url))
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


# --- the password kept in the secret store ----------------------------------------------
# store/ may not open the secret store (the layers): the engine looks the password up
# (engine.startup.load_database_password) and remembers it here, where every connection to
# the database (peewee's, the advisory locks', the LISTEN one through peewee's
# connect_params) takes it as libpq's `password=` keyword, never inside a URL.

# password_key -> the stored password, or None when none is stored (looked up once a process).
_remembered: dict[str, str | None] = {}
# password_key -> why the secret store could not be read (its own sentence), to say so if the
# database then asks for a password ~/.pgpass did not give.
_unread: dict[str, str] = {}


class PasswordWanted(DeskError):
    """The database asked for a password it was not given, or refused the one it was (the
    engine may then look in the secret store: engine.startup.with_stored_password)."""


def needs_stored_password(url: str) -> bool:
    """Whether a stored password may be used for this URL: a PostgreSQL URL carrying no
    password of its own, which libpq's ~/.pgpass did not satisfy. An SQLite desk never asks
    the secret store."""
    return url.startswith("postgres") and not url_password(url)


def password_key(url: str) -> str:
    """The secret store's key of a database's password, by who signs in where: two desks on
    different servers or databases never share it, and the key holds no secret."""
    parts = urlsplit(_libpq_url(url))
    given = {k: v[0] for k, v in parse_qs(parts.query).items() if v}  # ?user=...&host=...
    # libpq's defaults where the URL says nothing: PGUSER or the login, localhost, 5432.
    user = unquote(parts.username or "") or given.get("user") or os.environ.get("PGUSER")
    host = parts.hostname or given.get("host") or os.environ.get("PGHOST") or "localhost"
    port = parts.port or given.get("port") or os.environ.get("PGPORT") or 5432
    name = unquote(parts.path.lstrip("/")) or given.get("dbname") or ""
    return f"database/{user or getpass.getuser()}@{host}:{port}/{name}/password"


def remember_password(url: str, password: str | None, *, unread: str | None = None) -> None:
    """The password found in (or just put into, or removed from) the secret store for `url`;
    `unread`: the store could not be read, and why."""
    key = password_key(url)
    _remembered[key] = password
    if unread:
        _unread[key] = unread
    else:
        _unread.pop(key, None)


def remembered(url: str) -> bool:
    """Whether the secret store was already asked for `url`'s password in this process."""
    return password_key(url) in _remembered


def password_params(url: str) -> dict[str, Any]:
    """The libpq keyword carrying the stored password, when the URL has none and one is
    stored; else nothing (libpq's own ways, ~/.pgpass or PGPASSFILE, then apply)."""
    if not needs_stored_password(url):
        return {}
    password = _remembered.get(password_key(url))
    return {"password": password} if password else {}


def unreachable(exc: BaseException, url: str, named: str) -> DeskError:
    """The one sentence for a PostgreSQL desk that cannot be connected to: a password that
    is missing or refused names `deskterm db password`; libpq's reason otherwise (it never
    quotes a password, but a URL's is masked should it ever)."""
    shown = shown_url(url)
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    password = url_password(url) or password_params(url).get("password")
    if password:
        line = line.replace(password, "***")
    unread = _unread.get(password_key(url)) if needs_stored_password(url) else None
    if "no password supplied" in line and unread:
        return PasswordWanted(
            f"The database at {shown} asks for a password, and the secret store that may hold "
            f"it could not be read: {unread}"
        )
    if "no password supplied" in line:
        return PasswordWanted(
            f"The database at {shown} asks for a password; store it with "
            "`deskterm db password` (or put it in ~/.pgpass)."
        )
    if "password authentication failed" in line:
        return PasswordWanted(
            f"The database at {shown} refused the password; store the right one with "
            f"`deskterm db password` (or correct ~/.pgpass or {named})."
        )
    return DeskError(
        f"Cannot reach the database at {shown} ({line}); check that the server runs and "
        f"that {named} names it."
    )


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
