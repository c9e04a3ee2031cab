"""Nearest-rank percentiles per group, each engine its fastest way (issue 17: a year's report
at 100,000 conversations in a second).

Nearest-rank: the value at rank ceil(p * n) of the n sorted values, always one that happened.
A window ranking partitioned by each key sorted the durations once per key (SQLite sorts per
window: ~140 ms each at 90,000 durations); instead:

- PostgreSQL: the ordered-set aggregate `percentile_disc`, which is nearest-rank, over
  GROUPING SETS: one statement, one read of the durations, the groups' values only back.
- SQLite (no ordered-set aggregates): the durations once into a temporary table, an index
  on (key, d) per key that has more than one value (one value's ranks are the total's),
  the count per key value (served by the index), then the value at
  each wanted rank by an index walk (`ORDER BY d LIMIT 1 OFFSET k-1`), one small query per
  group value and rank: a few dozen in-process lookups instead of a sort per key.

Rows whose duration is NULL are not ranked (none has one: a duration is a difference of two
timestamps the query requires).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import peewee

from deskterm.store.db import database, is_sqlite
from deskterm.store.models.reports import RankedDuration

# group -> its value as text (None: the total's, or a NULL key) -> (count, {rank: value}).
Ranked = dict[str, dict[str | None, tuple[int, dict[int, int | None]]]]

KEYS = ("k0", "k1", "k2", "k3")  # RankedDuration's key columns: at most this many groups
# Below a rank's exact fraction, so float rounding never lifts ceil(p/100 * n) a rank too high
# (0.07 * 100 is 7.000000000000001); far smaller than the 1/100 a rank's fraction moves by.
_BELOW = 1e-10


def nearest_ranks(
    sql: str, params: Sequence[object], groups: Sequence[str], ranks: Sequence[int]
) -> Ranked:
    """The count and the percentiles `ranks` (in percent) of column `d` of the query `sql`
    (with `params`), in all (group "", value None) and per value of each column in `groups`
    (selected by the query too). Values come back as text (an id "7", a handle as is); a
    group with no durations is absent, and so is the total when there are none at all."""
    for group in groups:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", group):
            raise ValueError(f"not a column name: {group!r}")
    if len(groups) > len(KEYS):
        raise ValueError(f"at most {len(KEYS)} groups, not {len(groups)}")
    ranks = [int(p) for p in ranks]
    if is_sqlite(database.obj):
        return _sqlite(sql, params, groups, ranks)
    return _postgres(sql, params, groups, ranks)


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
        f"FROM ({sql}) AS durations WHERE d IS NOT NULL GROUP BY GROUPING SETS ({sets})",
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


def _sqlite(sql: str, params: Sequence[object], groups: Sequence[str], ranks: list[int]) -> Ranked:
    """The durations into the connection's temporary table, indexed after the insert (one
    sort per index, half the cost of keeping them sorted row by row), ranked, then dropped."""
    table = RankedDuration._meta.table_name
    keys = KEYS[: len(groups)]
    _clear()  # a report cut short may have left one
    RankedDuration._schema.create_table(safe=True, temporary=True)
    try:
        database.execute_sql(
            f"INSERT INTO {table} (d{''.join(', ' + k for k in keys)}) "
            f"SELECT d{''.join(', ' + g for g in groups)} FROM ({sql}) AS durations "
            "WHERE d IS NOT NULL",
            params,
        )
        single = _single_values(table, keys)
        for key in ("d", *(f"{k}, d" for k in keys if k not in single)):
            name = f"{table}_{key.split(',')[0]}"
            database.execute_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({key})")
        out: Ranked = {"": {}}
        [(total,)] = database.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchall()
        if total:
            out[""][None] = (total, _at(f"SELECT d FROM {table}", (), total, ranks))
        for group, key in zip(groups, keys, strict=True):
            if key in single:  # its one value's durations are all of them
                out[group] = {_text(single[key]): out[""][None]} if total else {}
                continue
            counts = database.execute_sql(
                f"SELECT {key}, COUNT(*) FROM {table} GROUP BY {key}"
            ).fetchall()
            out[group] = {
                _text(value): (
                    n,
                    _at(f"SELECT d FROM {table} WHERE {key} IS ?", (value,), n, ranks),
                )
                for value, n in counts
            }
        return out
    finally:
        _clear()


def _single_values(table: str, keys: Sequence[str]) -> dict[str, object]:
    """The keys that have one value in every row (all NULL counts as one), with it: on a
    desk with one channel, or no types, that key's ranks are the total's, and its index
    (a sort of every duration) is not built. One read for all keys."""
    if not keys:
        return {}
    sql = ", ".join(f"MIN({k}), MAX({k}), COUNT({k})" for k in keys)
    [(total, *found)] = database.execute_sql(f"SELECT COUNT(*), {sql} FROM {table}").fetchall()
    out: dict[str, object] = {}
    for i, key in enumerate(keys):
        low, high, present = found[3 * i : 3 * i + 3]
        if present == 0 or (present == total and low == high):
            out[key] = low
    return out


def _clear() -> None:
    """Drop the temporary table; emptied instead when SQLite refuses the drop because a
    statement of the connection is still reading (a caller iterating a query while it makes
    a report): the next report then fills the table with its indexes kept, slower (the
    indexes grow row by row) but the same answer."""
    try:
        RankedDuration.drop_table(safe=True)
    except peewee.OperationalError:
        RankedDuration.delete().execute()


def _at(
    select: str, params: tuple[object, ...], count: int, ranks: list[int]
) -> dict[int, int | None]:
    """The value at each rank's position among the `count` rows `select` picks, by an index
    walk (the index on (key, d), or on d for the total)."""
    out: dict[int, int | None] = {}
    for p in ranks:
        # fetchall, not fetchone: a statement left unfinished keeps the table locked, and
        # the table is dropped next.
        rows = database.execute_sql(
            f"{select} ORDER BY d LIMIT 1 OFFSET ?", (*params, rank_of(count, p) - 1)
        ).fetchall()
        out[p] = int(rows[0][0]) if rows else None
    return out
