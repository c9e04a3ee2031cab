"""Moving an embedded desk into PostgreSQL (`deskterm db migrate --to URL`), below the CLI so
that the app or a script can do it too.

Every table of the model but presence (`NOT_MOVED`) is copied with its ids as they are (a
conversation keeps its number, `#42` stays `#42`), in key order and in batches of `batch_rows`,
so memory stays bounded whatever the desk holds; PostgreSQL's sequences are then set past the
copied ids, so the next conversation gets a fresh number. The target's schema is made by the
project's own migrations, as for any new desk. The source is read inside one read transaction:
a worker still writing to the SQLite file cannot make the copy inconsistent (what it writes
afterwards is not copied).

A desk is identified by its channels' uids (made once per channel, never changed, copied as
they are). A target with rows is refused unless it holds this same desk: it has channels, and
each is one of the source's with the same id. Then the move completes what is missing (rows
past the highest id each table already has: an interrupted move resumes where it stopped) and
a move that had finished copies nothing. The counts of every table are compared at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import peewee

from deskterm import paths
from deskterm.errors import DeskError
from deskterm.store import connection, migrations
from deskterm.store.db import database
from deskterm.store.models import ALL_MODELS, BaseModel, Channel, Presence

BATCH_ROWS = 1000
SCHEMA_TABLE = migrations.SchemaVersion._meta.table_name
# Not copied, nor counted: who has a conversation open (desk/presence.py) is courtesy data
# that lives seconds and that each running app writes again. On SQLite it sits in a file of
# its own without foreign keys (store/presence_file.py), where a row of a conversation or an
# agent since removed is normal until it is swept; PostgreSQL's foreign keys would refuse
# that row and stop the move.
NOT_MOVED: tuple[type[BaseModel], ...] = (Presence,)
MOVED = [model for model in ALL_MODELS if model not in NOT_MOVED]


@dataclass(frozen=True)
class TableCount:
    """One table after the move: its rows in each desk, and how many this run copied."""

    table: str
    source: int
    target: int
    copied: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class MoveResult:
    target: str  # the URL without its password, fit to print
    resumed: bool  # the target already held this desk (in part or whole)
    tables: list[TableCount]

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def verified(self) -> bool:
        return all(t.matches for t in self.tables)


def move_desk(
    url: str,
    *,
    named: str = "--to",
    batch_rows: int = BATCH_ROWS,
    on_table: Callable[[TableCount], None] | None = None,
) -> MoveResult:
    """Copy the home's SQLite desk into the PostgreSQL desk at `url` (see the module's doc).

    `named` is how the user gave the URL, for the sentences of its failures. DeskError with one
    sentence when the SQLite desk is missing, the server cannot be reached, or the target is
    another desk, not a deskterm database, or of a newer schema.
    """
    shown = connection.shown_url(url)
    source = _open_source()
    target = _open_target(url, named, shown)
    try:
        with _bound(source):
            migrations.migrate(source)
        _check_target_schema(target, shown)
        with _bound(target):
            migrations.migrate(target)
        with source.atomic():  # one snapshot of the source for the whole copy
            resumed = _same_desk_or_empty(source, target, shown)
            tables = []
            for model in MOVED:
                counted = _copy_table(model, source, target, batch_rows)
                tables.append(counted)
                if on_table is not None:
                    on_table(counted)
        _advance_sequences(target)
    finally:
        source.close()
        target.close()
    return MoveResult(target=shown, resumed=resumed, tables=tables)


def _open_source() -> peewee.SqliteDatabase:
    home = paths.home_location()
    if not (home / paths.DATABASE_NAME).is_file():
        raise DeskError(
            f"There is no SQLite desk in {home} (DESKTERM_HOME); set DESKTERM_HOME to the "
            "folder of the desk to move and run `deskterm db migrate` again."
        )
    source = connection.sqlite_database()
    source.connect()
    return source


def _open_target(url: str, named: str, shown: str) -> peewee.Database:
    target = connection.url_database(url, named)
    if not isinstance(target, peewee.PostgresqlDatabase):
        raise DeskError(
            f"{named} must name a PostgreSQL database (postgresql://user@host/name), not {shown}."
        )
    try:
        target.connect()
    except peewee.DatabaseError as exc:
        reason = _reason(exc, url)
        raise DeskError(
            f"Cannot reach the PostgreSQL desk at {shown} ({reason}); check that the server "
            "runs, that the database exists and that the user and its password (~/.pgpass, or "
            "`deskterm db password --url URL`) are right, then run `deskterm db migrate` again."
        ) from None
    return target


def _reason(exc: BaseException, url: str) -> str:
    """libpq's first line, without the URL's password should it ever quote it."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    password = connection.url_password(url)
    return line.replace(password, "***") if password else line


def _check_target_schema(target: peewee.Database, shown: str) -> None:
    """A database with other tables is not a desk to write into; one of a newer deskterm is
    not one this deskterm may migrate."""
    tables = set(target.get_tables())
    if tables and SCHEMA_TABLE not in tables:
        raise DeskError(
            f"The database at {shown} holds tables that are not a deskterm desk; give "
            "`deskterm db migrate --to` an empty database (e.g. made with `createdb`)."
        )
    if not tables:
        return
    with _bound(target):
        version = migrations.current_version(target)
    if version > len(migrations.MIGRATIONS):
        raise DeskError(
            f"The desk at {shown} was written by a newer deskterm (schema {version}, this one "
            f"knows {len(migrations.MIGRATIONS)}); upgrade deskterm, then run "
            "`deskterm db migrate` again."
        )


def _same_desk_or_empty(source: peewee.Database, target: peewee.Database, shown: str) -> bool:
    """False for an empty target, True for one holding this desk; refuses any other."""
    if not any(model.select().exists(target) for model in MOVED):
        return False
    ours = dict(Channel.select(Channel.uid, Channel.id).tuples().execute(source))
    theirs = dict(Channel.select(Channel.uid, Channel.id).tuples().execute(target))
    if not theirs or any(ours.get(uid) != pk for uid, pk in theirs.items()):
        raise DeskError(
            f"The PostgreSQL desk at {shown} already holds another desk; give "
            "`deskterm db migrate --to` an empty database (e.g. made with `createdb`)."
        )
    return True


def _copy_table(
    model: type[BaseModel], source: peewee.Database, target: peewee.Database, batch_rows: int
) -> TableCount:
    """Rows past the target's highest key, in key order, one committed batch at a time."""
    key = model._meta.primary_key
    fields = model._meta.sorted_fields
    at = fields.index(key)
    last = model.select(peewee.fn.MAX(key)).scalar(target)
    copied = 0
    while True:
        query = model.select(*fields).order_by(key).limit(batch_rows)
        if last is not None:
            query = query.where(key > last)
        rows = [_storable(row) for row in query.tuples().execute(source)]
        if not rows:
            break
        with target.atomic():
            model.insert_many(rows, fields=fields).as_rowcount().execute(target)
        copied += len(rows)
        last = rows[-1][at]
    return TableCount(
        table=model._meta.table_name,
        source=model.select().count(source),
        target=model.select().count(target),
        copied=copied,
    )


def _storable(row: tuple[object, ...]) -> tuple[object, ...]:
    """PostgreSQL's text holds no NUL; an older SQLite desk may (ingest replaces them today,
    with the same character)."""
    return tuple(
        v.replace("\x00", "\ufffd") if isinstance(v, str) and "\x00" in v else v for v in row
    )


def _advance_sequences(target: peewee.Database) -> None:
    """Each id sequence past the ids copied, so a new row never collides with a moved one."""
    for model in ALL_MODELS:
        key = model._meta.primary_key
        if not isinstance(key, peewee.AutoField):
            continue
        table, column = model._meta.table_name, key.column_name
        target.execute_sql(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max("{column}"), 0) + 1, '
            f'false) FROM "{table}"',
            (f'"{table}"', column),
        )


@contextlib.contextmanager
def _bound(db: peewee.Database) -> Iterator[None]:
    """The models' shared handle pointed at `db` for code that uses it (the migrations)."""
    saved = database.obj
    database.initialize(db)
    try:
        yield
    finally:
        database.initialize(saved)
