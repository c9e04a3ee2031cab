"""A report's SQL pieces: day and week buckets, a reason's kind, and percentiles.
desk/reports.py builds every query from these and from store/dialect.py (what each engine
writes its own way), so both engines give the same numbers (tests compare them on the same
history).

Percentiles are nearest-rank: the value at rank ceil(p * n) of the sorted durations, found by
a window function over the durations in the database, and per breakdown key by a window
partitioned by the key in the same statement (`ranked`). PostgreSQL has `percentile_cont`,
SQLite nothing; nearest-rank is the one both compute alike, and it is always a duration
that happened, never one interpolated between two).
"""

from __future__ import annotations

from collections.abc import Sequence

import peewee

from deskterm.store import dialect
from deskterm.store.db import database

STEPS = ("day", "week")


def bucket(moment: peewee.Node, step: str) -> peewee.Node:
    """The bucket a timestamp falls in, as text: its day `YYYY-MM-DD` (UTC), or the Monday
    that starts its week."""
    if step not in STEPS:
        raise ValueError(step)
    return dialect.day_of(moment) if step == "day" else dialect.week_of(moment)


def reason_kind(reason: peewee.Node) -> peewee.Node:
    """What kind of reason a skipped mail has: its text before the first ':' ("auto-submitted:
    auto-replied" is "auto-submitted"), or the whole reason ("duplicate")."""
    return dialect.text_before(reason, ":")


Ranks = dict[str, dict[str | None, tuple[int, dict[int, int | None]]]]


def ranked(
    durations: peewee.SelectQuery, groups: Sequence[str], ranks: Sequence[int] = (50, 90)
) -> Ranks:
    """The count and nearest-rank percentiles of the durations `durations` selects (aliased
    `d`), in all (under "") and per value of each column named in `groups` (selected by
    `durations` too), in one statement: the durations are read once (a CTE), each ranking
    is a window partitioned by its column, and only the rows at the wanted ranks come back
    (a few per group, never a row per conversation). Group values come back as text (one
    column holds them all); the total's value is None."""
    sql, params = durations.sql()
    wanted = " OR ".join(f"rn = (n * {int(p)} + 99) / 100" for p in ranks)
    branches = []
    for group in ("", *groups):
        key = f"CAST({group} AS TEXT)" if group else "CAST(NULL AS TEXT)"
        over = f"PARTITION BY {group} " if group else ""
        branches.append(
            f"SELECT '{group}' AS g, k, rn, n, d FROM (SELECT {key} AS k, d, "
            f"ROW_NUMBER() OVER ({over}ORDER BY d) AS rn, COUNT(*) OVER ({over}) AS n "
            f"FROM durations) AS ranked WHERE {wanted}"
        )
    rows = database.execute_sql(
        f"WITH durations {dialect.materialized_cte()} ({sql}) " + " UNION ALL ".join(branches),
        params,
    ).fetchall()
    found: dict[tuple[str, str | None], tuple[int, dict[int, int]]] = {}
    for group, key, rn, n, d in rows:
        count, at = found.setdefault((str(group), key), (int(n), {}))
        at[int(rn)] = int(d)
    out: Ranks = {group: {} for group in ("", *groups)}
    for (group, key), (count, at) in found.items():
        out[group][key] = (count, {p: at.get((count * p + 99) // 100) for p in ranks})
    return out


def overall(ranks: Ranks) -> tuple[int, dict[int, int | None]]:
    """The count and percentiles in all from `ranked`'s answer (none when nothing ranked)."""
    return ranks[""].get(None, (0, {50: None, 90: None}))
