"""A report's SQL pieces: day and week buckets, a reason's kind, and percentiles.
desk/reports.py builds every query from these and from store/dialect.py (what each engine
writes its own way), so both engines give the same numbers (tests compare them on the same
history).

Percentiles are nearest-rank: the value at rank ceil(p * n) of the sorted durations, found in
the database, in all and per breakdown key (`ranked`, by store/percentiles). Nearest-rank is
the one both engines compute alike, and it is always a duration that happened, never one
interpolated between two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import peewee

from deskterm.store import dialect, percentiles

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


Ranks = percentiles.Ranked


def ranked(
    rows: peewee.SelectQuery,
    d: peewee.Node,
    groups: Mapping[str, peewee.Node],
    ranks: Sequence[int] = (50, 90),
) -> Ranks:
    """The count and nearest-rank percentiles of the durations `d` over the rows `rows`
    picks, in all (under "") and per value of each of `groups` (name -> key column),
    computed in the database each engine its fastest way (store/percentiles): only the
    values at the wanted ranks come back, never a row per conversation. Group values come
    back as text; the total's value is None."""
    return percentiles.nearest_ranks(rows, d, groups, ranks)


def overall(ranks: Ranks) -> tuple[int, dict[int, int | None]]:
    """The count and percentiles in all from `ranked`'s answer (none when nothing ranked)."""
    return ranks[""].get(None, (0, {50: None, 90: None}))
