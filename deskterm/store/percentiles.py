"""Nearest-rank percentiles per group, each engine its fastest way (issue 17: a year's report
at 100,000 conversations in a second).

Nearest-rank: the value at rank ceil(p * n) of the n sorted values, always one that happened.
Sorting the durations once per key (a window ranking partitioned by each key, or an index
built on a temporary table) cost a year's report most of its time on SQLite; instead:

- PostgreSQL: the ordered-set aggregate `percentile_disc`, which is nearest-rank, over
  GROUPING SETS: one statement, one read of the durations, the groups' values only back.
- SQLite (no ordered-set aggregates): walks of indexes the table keeps sorted already. The
  count per key value comes from an index led by the key (in its order, no sort), the value
  at each wanted rank from the same index (`WHERE key = v ORDER BY d LIMIT 1 OFFSET k-1`):
  a few dozen in-process index walks. The report's durations are kept in
  conversation_outcome with such an index per key (v20); on a table without them the same
  statements are right, only slower (SQLite sorts for each).

Rows whose duration is NULL are not ranked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import peewee
from peewee import SQL, fn

from deskterm.store.db import database, is_sqlite

# group -> its value as text (None: the total's, or a NULL key) -> (count, {rank: value}).
Ranked = dict[str, dict[str | None, tuple[int, dict[int, int | None]]]]

# Below a rank's exact fraction, so float rounding never lifts ceil(p/100 * n) a rank too high
# (0.07 * 100 is 7.000000000000001); far smaller than the 1/100 a rank's fraction moves by.
_BELOW = 1e-10


def nearest_ranks(
    rows: peewee.SelectQuery,
    d: peewee.Node,
    groups: Mapping[str, peewee.Node],
    ranks: Sequence[int],
) -> Ranked:
    """The count and the percentiles `ranks` (in percent) of the durations `d` over the
    rows `rows` picks (a query of one table, its WHERE the rows to rank), in all (group "",
    value None) and per value of each of `groups` (name -> the key's column). Values come
    back as text (an id "7", a handle as is); a group with no durations is absent, and so is
    the total when there are none at all."""
    for group in groups:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", group):
            raise ValueError(f"not a group name: {group!r}")
    ranks = [int(p) for p in ranks]
    rows = rows.where(d.is_null(False))
    if is_sqlite(database.obj):
        return _walked(rows, d, groups, ranks)
    sql, params = rows.select(d.alias("d"), *(c.alias(g) for g, c in groups.items())).sql()
    return _postgres(sql, params, list(groups), ranks)


def rank_of(count: int, percent: int) -> int:
    """The nearest rank of `percent` among `count` values: ceil(percent/100 * count), at
    least 1, in integers."""
    return max(1, (count * percent + 99) // 100)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _postgres(
    sql: str, params: Sequence[object], groups: Sequence[str], ranks: list[int]
) -> Ranked:
    """One statement: `percentile_disc` (nearest-rank: the first value whose position is at
    least p * n) per grouping set; GROUPING(...) tells the sets apart: bit i (from the left)
    is set when group i is not the set's."""
    keys = ", ".join(f"CAST({g} AS TEXT)" for g in groups)
    which = f"GROUPING({', '.join(groups)})" if groups else "0"
    sets = ", ".join(["()", *(f"({g})" for g in groups)])
    rows = database.execute_sql(
        f"SELECT {which}, {keys + ', ' if keys else ''}COUNT(*), "
        "percentile_disc(CAST(%s AS DOUBLE PRECISION[])) WITHIN GROUP (ORDER BY d) "
        f"FROM ({sql}) AS durations GROUP BY GROUPING SETS ({sets})",
        [[p / 100 - _BELOW for p in ranks], *params],  # in the order of their marks
    ).fetchall()
    out: Ranked = {group: {} for group in ("", *groups)}
    full = (1 << len(groups)) - 1
    for bits, *values, count, found in rows:
        if not count:
            continue  # the total's set on no durations at all
        at = {p: None if d is None else int(d) for p, d in zip(ranks, found, strict=True)}
        if bits == full:
            out[""][None] = (int(count), at)
            continue
        position = next(i for i in range(len(groups)) if not bits >> (len(groups) - 1 - i) & 1)
        out[groups[position]][_text(values[position])] = (int(count), at)
    return out


def _walked(
    rows: peewee.SelectQuery, d: peewee.Node, groups: Mapping[str, peewee.Node], ranks: list[int]
) -> Ranked:
    """The counts per key value in the key's index order, then each rank's value by a walk
    of that index (of the duration's, for the total). A key may have thousands of values
    (organizations): its walk is one prepared statement run per value and rank."""
    out: Ranked = {"": {}}
    total = rows.select(fn.COUNT(SQL("*"))).scalar() or 0
    if total:
        out[""][None] = (total, {p: _walk(rows, d, None)(None, rank_of(total, p)) for p in ranks})
    for group, key in groups.items():
        counts = list(rows.select(key, fn.COUNT(SQL("*"))).group_by(key).tuples())
        walk = _walk(rows, d, key)
        out[group] = {
            _text(value): (n, {p: walk(value, rank_of(n, p)) for p in ranks}) for value, n in counts
        }
    return out


def _walk(
    rows: peewee.SelectQuery, d: peewee.Node, key: peewee.Node | None
) -> Callable[[object, int], int | None]:
    """The statement that finds the duration at a rank (1-based) among the rows of one key
    value (`key IS ?`, NULL too; None: all the rows), built once: SQLite's marks (`?`) for
    the value and the offset are filled per call."""
    query = rows.select(d)
    if key is not None:
        query = query.where(peewee.Expression(key, "IS", SQL("?")))
    sql, params = query.order_by(d).limit(1).offset(SQL("?")).sql()
    if sql.count("?") != len(params) + 1 + (key is not None):  # the rows' own, then LIMIT's
        raise ValueError("a duration's walk was not written as expected")
    head, limit = list(params[:-1]), params[-1]

    def at(value: object, rank: int) -> int | None:
        given = [*head, value] if key is not None else head
        found = database.execute_sql(sql, [*given, limit, rank - 1]).fetchall()
        return int(found[0][0]) if found else None

    return at
