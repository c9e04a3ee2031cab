"""The desk's database handle and what every module shares about it: the models bind to
`database` (connected by `deskterm.store.connection`), and timestamps are stored and shown
one way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import peewee

database = peewee.DatabaseProxy()

# A moment every write of this thread takes as "now" (see `clock_at`); None: the real time.
_moment: ContextVar[datetime | None] = ContextVar("deskterm_moment", default=None)


def utcnow() -> datetime:
    """Naive UTC: stored the same way on every engine, rendered with +00:00 on output."""
    moment = _moment.get()
    return moment if moment is not None else datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Everything the engine records in this block (a reply, a status change, time logged)
    is dated `moment`: how the demo builds a desk with a known history through the engine's
    own functions, rather than by writing rows the engine might not write. This thread only."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    token = _moment.set(moment)
    try:
        yield
    finally:
        _moment.reset(token)


def iso(moment: datetime | None) -> str | None:
    """How every timestamp leaves the desk (CLI, JSON): ISO 8601 in UTC, to the second."""
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "+00:00"


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
