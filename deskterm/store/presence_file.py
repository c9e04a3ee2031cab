"""Where an SQLite desk keeps presence (who has a conversation open): a small file of its own,
attached to every connection of the desk as the schema `presence`.

Why a file of its own: an app hears that another connection changed an SQLite desk through
`PRAGMA data_version` (store/live.py), which counts every commit to the desk's file, and
cannot tell which table a commit touched. Each open thread refreshes its presence row every
few seconds, so with presence in the desk's file every app reloaded its list every few
seconds while anyone, itself included, had a conversation open. Commits to an attached file
leave the desk file's data_version alone, so presence is kept out of what the watcher counts
by SQLite's own mechanism, with nothing to filter or to get wrong. (On PostgreSQL presence
stays a table of the desk: its NOTIFY triggers are per table and presence has none.)

The desk's own file has no `presence` table from schema v15 on, so the unqualified name in
every query resolves to the attached one (SQLite looks in `main` first, then the attached
databases): `deskterm.desk.presence` runs the same peewee code on both engines. The attached
table has no foreign keys, which SQLite cannot make across files: a removed agent's rows
drop out of the join that names the others, and a deleted conversation's rows go stale and
are swept like a killed app's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import peewee

from deskterm import paths

SCHEMA = "presence"
TABLE = "presence"

# The columns of `models.Presence`, without the foreign keys (see the module's doc).
_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{SCHEMA}"."{TABLE}" ('
    '"id" INTEGER NOT NULL PRIMARY KEY, "conversation_id" INTEGER NOT NULL, '
    '"agent_id" INTEGER NOT NULL, "session" VARCHAR(255) NOT NULL, '
    '"activity" VARCHAR(255) NOT NULL, "seen_at" DATETIME NOT NULL)',
    f'CREATE UNIQUE INDEX IF NOT EXISTS "{SCHEMA}"."presence_conversation_id_session" '
    f'ON "{TABLE}" ("conversation_id", "session")',
    f'CREATE INDEX IF NOT EXISTS "{SCHEMA}"."presence_seen_at" ON "{TABLE}" ("seen_at")',
)

# Applied to each connection after the ATTACH (peewee attaches before it sets pragmas): the
# presence file in WAL like the desk, so a beat never waits on a reader.
PRAGMAS = {f"{SCHEMA}.journal_mode": "wal", f"{SCHEMA}.synchronous": "normal"}


def location(desk_file: Path) -> Path:
    """The presence file of the desk in `desk_file`, beside it."""
    return desk_file.with_name(desk_file.name + "-presence")


class DeskSqlite(peewee.SqliteDatabase):
    """The embedded desk: an SQLite database whose connections attach the presence file.

    peewee's own ATTACH puts the file name in double quotes in the SQL; a home directory may
    hold any character, so here it is a bound parameter."""

    def _attach_databases(self, conn: Any) -> None:
        for name, filename in self._attached.items():
            conn.execute("ATTACH DATABASE ? AS ?", (filename, name))


def desk_sqlite(desk_file: Path, pragmas: dict[str, Any]) -> DeskSqlite:
    """The desk in `desk_file`, not yet connected, with its presence file attached to each
    connection (both owner-only: presence names agents and their machines)."""
    presence = location(desk_file)
    paths.private_file(presence)
    db = DeskSqlite(str(desk_file), pragmas={**pragmas, **PRAGMAS})
    db.attach(str(presence), SCHEMA)
    return db


def attached(db: peewee.Database) -> bool:
    """Whether `db`'s connections have the presence file (an SQLite desk made elsewhere,
    such as a test's, may not: it then keeps presence in its own file, as before v15)."""
    if not isinstance(db, peewee.SqliteDatabase):
        return False
    return any(row[1] == SCHEMA for row in db.execute_sql("PRAGMA database_list").fetchall())


def install(db: peewee.Database) -> None:
    """Make the attached presence table, and drop the desk file's own (its rows are at most
    a few seconds' courtesy: every open app writes its own again at its next beat).
    Idempotent, and cheap enough for every opening of the desk: the presence file may have
    been deleted since (it holds nothing that lasts)."""
    if not attached(db):
        return
    for statement in _DDL:
        db.execute_sql(statement)
    if "presence" in db.get_tables():  # main's: where v7 put it, and v1 on a new desk
        db.execute_sql('DROP TABLE "main"."presence"')
