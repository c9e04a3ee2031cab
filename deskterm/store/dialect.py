"""The SQL that is written differently for SQLite and for PostgreSQL, as peewee expressions
that compute the same value on either: the packages above the store build their queries from
these and never ask which engine they run on (issue 15: no SQLite-only SQL outside the
storage package; tests/engine/test_engine_boundary.py keeps it so).

Timestamps are the desk's (naive UTC, `store.db.utcnow`): text on SQLite, `timestamp` on
PostgreSQL, which is why even a difference of two needs a function of each engine's.
"""

from __future__ import annotations

import peewee
from peewee import SQL, fn

from deskterm.store.db import database, is_sqlite


def _sqlite() -> bool:
    return is_sqlite(database.obj)


def seconds_between(later: peewee.Node, earlier: peewee.Node) -> peewee.Node:
    """Whole seconds from `earlier` to `later`, rounded."""
    if _sqlite():
        seconds = fn.ROUND((fn.julianday(later) - fn.julianday(earlier)) * 86400.0)
        return fn.CAST(peewee.NodeList((seconds, SQL("AS INTEGER"))))
    seconds = fn.ROUND(fn.date_part("epoch", later - earlier))
    return fn.CAST(peewee.NodeList((seconds, SQL("AS BIGINT"))))


def day_of(moment: peewee.Node) -> peewee.Node:
    """The day a timestamp falls on, as text `YYYY-MM-DD`."""
    # coerce(False): text as the database gives it, not made a datetime like its argument.
    if _sqlite():
        return fn.date(moment).coerce(False)
    return fn.to_char(moment, "YYYY-MM-DD").coerce(False)


def week_of(moment: peewee.Node) -> peewee.Node:
    """The Monday that starts a timestamp's (ISO) week, as text `YYYY-MM-DD`."""
    if _sqlite():
        return fn.date(moment, "weekday 0", "-6 days").coerce(False)
    return fn.to_char(fn.date_trunc("week", moment), "YYYY-MM-DD").coerce(False)


def text_before(text: peewee.Node, separator: str) -> peewee.Node:
    """`text` up to the first `separator` (one character), or all of it when there is none."""
    if _sqlite():
        cut = fn.instr(text, separator)
        return peewee.Case(None, [(cut > 0, fn.substr(text, 1, cut - 1))], text)
    return fn.split_part(text, separator, 1).coerce(False)


def least(*values: peewee.Node | int) -> peewee.Node:
    """The smallest of the values in one row (SQLite's MIN with several arguments is that)."""
    return fn.MIN(*values) if _sqlite() else fn.LEAST(*values)


def greatest(*values: peewee.Node | int) -> peewee.Node:
    """The largest of the values in one row."""
    return fn.MAX(*values) if _sqlite() else fn.GREATEST(*values)


def differs(a: peewee.Node, b: peewee.Node) -> peewee.Expression:
    """`a` and `b` differ, NULL counting as a value (NULL and NULL are the same; NULL and 1
    differ), where `a != b` would be NULL, neither true nor false."""
    return peewee.Expression(a, "IS NOT" if _sqlite() else "IS DISTINCT FROM", b)


# PostgreSQL 11 brought JIT, on by default from 12.
JIT_SINCE = 110000


def without_jit() -> None:
    """For the rest of the current transaction, PostgreSQL runs queries without compiling
    them first (JIT): it guesses a report's queries over 100,000 conversations costly and
    spent 200-450 ms compiling each for 10-20 ms of running (EXPLAIN ANALYZE, bench.report).
    `SET LOCAL` ends with the transaction, so nothing else of the session (or of a pooled
    connection's next client) changes. Nothing to do on SQLite or an older PostgreSQL."""
    if not _sqlite() and getattr(database.obj, "server_version", 0) >= JIT_SINCE:
        database.execute_sql("SET LOCAL jit = off")


def one_snapshot() -> None:
    """The rest of the current transaction reads one snapshot of the desk on PostgreSQL
    (REPEATABLE READ; its first statement), as a read transaction on SQLite does anyway: a
    report's sections then agree with each other while agents write. Read-only use: a
    write in such a transaction could fail on a concurrent update."""
    if not _sqlite():
        database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
