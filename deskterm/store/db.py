"""The desk's database handle and what every module shares about it: the models bind to
`database` (connected by `deskterm.store.connection`), and timestamps are stored and shown
one way."""

from __future__ import annotations

from datetime import UTC, datetime

import peewee

database = peewee.DatabaseProxy()


def utcnow() -> datetime:
    """Naive UTC: stored the same way on every engine, rendered with +00:00 on output."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """How every timestamp leaves the desk (CLI, JSON): ISO 8601 in UTC, to the second."""
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "+00:00"


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
