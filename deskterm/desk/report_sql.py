"""The SQL that differs between SQLite and PostgreSQL in a report: durations, day and week
buckets, a reason's kind, and percentiles. desk/reports.py builds every query from these, so
both engines give the same numbers (tests compare them on the same history).

Percentiles are nearest-rank: the value at rank ceil(p * n) of the sorted durations, found by
a window function over the durations in the database (PostgreSQL has `percentile_cont`,
SQLite nothing; nearest-rank is the one both compute alike, and it is always a duration
that happened, never one interpolated between two).
"""

from __future__ import annotations

from collections.abc import Sequence

import peewee
from peewee import SQL, fn

from deskterm.store.db import database, is_sqlite

STEPS = ("day", "week")


def _sqlite() -> bool:
    return is_sqlite(database.obj)


def seconds_between(later: peewee.Node, earlier: peewee.Node) -> peewee.Node:
    """Whole seconds from `earlier` to `later` (timestamps as the desk stores them)."""
    if _sqlite():
        return fn.CAST(
            peewee.NodeList(
                (
                    fn.ROUND((fn.julianday(later) - fn.julianday(earlier)) * 86400.0),
                    SQL("AS INTEGER"),
                )
            )
        )
    return fn.CAST(
        peewee.NodeList((fn.ROUND(fn.date_part("epoch", later - earlier)), SQL("AS BIGINT")))
    )


def bucket(moment: peewee.Node, step: str) -> peewee.Node:
    """The bucket a timestamp falls in, as text: its day `YYYY-MM-DD` (UTC), or the Monday
    that starts its week."""
    if step not in STEPS:
        raise ValueError(step)
    # coerce(False): text as the database gives it, not made a datetime like its argument.
    if _sqlite():
        if step == "day":
            return fn.date(moment).coerce(False)
        return fn.date(moment, "weekday 0", "-6 days").coerce(False)
    if step == "day":
        return fn.to_char(moment, "YYYY-MM-DD").coerce(False)
    return fn.to_char(fn.date_trunc("week", moment), "YYYY-MM-DD").coerce(False)


def reason_kind(reason: peewee.Node) -> peewee.Node:
    """What kind of reason a skipped mail has: its text before the first ':' ("auto-submitted:
    auto-replied" is "auto-submitted"), or the whole reason ("duplicate")."""
    if _sqlite():
        cut = fn.instr(reason, ":")
        return peewee.Case(None, [(cut > 0, fn.substr(reason, 1, cut - 1))], reason)
    return fn.split_part(reason, ":", 1).coerce(False)


def percentiles(
    durations: peewee.SelectQuery, ranks: Sequence[int] = (50, 90)
) -> tuple[int, dict[int, int | None]]:
    """How many durations `durations` (a query selecting one column aliased `d`) gives, and
    the nearest-rank percentile of each of `ranks` (None when there are none). The database
    sorts and ranks them; at most len(ranks) rows come back."""
    sql, params = durations.sql()
    wanted = " OR ".join(f"rn = (n * {int(p)} + 99) / 100" for p in ranks)
    rows = database.execute_sql(
        "SELECT rn, n, d FROM (SELECT d, ROW_NUMBER() OVER (ORDER BY d) AS rn, "
        f"COUNT(*) OVER () AS n FROM ({sql}) AS durations) AS ranked WHERE {wanted}",
        params,
    ).fetchall()
    count = int(rows[0][1]) if rows else 0
    found = {int(rn): int(d) for rn, _n, d in rows}
    out: dict[int, int | None] = {}
    for p in ranks:
        rank = (count * p + 99) // 100
        out[p] = found.get(rank) if count else None
    return count, out
