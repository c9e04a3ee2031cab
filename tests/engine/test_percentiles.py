"""store/percentiles: nearest-rank percentiles per group, each engine its own way (issue 17),
exactly what sorted lists give: on random durations with ties, NULL keys, groups of one,
ranks whose fraction float rounding would push a rank too high, and no durations at all; on
SQLite and on the suite's PostgreSQL; and on SQLite, the report's kept outcomes ranked by
walks of their indexes, without a sort."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import peewee
import pytest

from deskterm.demo import desk as demo
from deskterm.desk import report_breakdown, reports
from deskterm.desk.report_scope import scope
from deskterm.store import connection, percentiles
from deskterm.store.db import database
from deskterm.store.models import Outcome

GROUPS = ("g_agent", "g_org", "g_channel", "g_type")
SCRATCH = peewee.Table("scratch", ("d", *GROUPS)).bind(database)
RANKS = (1, 7, 29, 50, 90, 99, 100)  # 7 and 29: p/100 * n lands just above an integer


@pytest.fixture
def table(engine: str) -> str:
    """A scratch table of durations with an agent handle and three ids (some NULL)."""
    connection.open_database()
    database.execute_sql(
        "CREATE TABLE scratch (d BIGINT, g_agent TEXT, g_org INTEGER, g_channel INTEGER, "
        "g_type INTEGER)"
    )
    return "scratch"


def fill(rows: list[tuple[object, ...]]) -> None:
    mark = "?" if database.param == "?" else "%s"
    with database.atomic():
        for row in rows:
            database.execute_sql(f"INSERT INTO scratch VALUES ({', '.join([mark] * 5)})", row)


def reference(
    rows: list[tuple[object, ...]], groups: Sequence[str], ranks: Sequence[int]
) -> percentiles.Ranked:
    """Sorted lists and the textbook rank ceil(p * n / 100)."""
    lists: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for d, *keys in rows:
        if d is None:
            continue
        lists[("", None)].append(int(d))  # type: ignore[call-overload]
        for position, group in enumerate(groups):
            key = keys[position]
            lists[(group, None if key is None else str(key))].append(int(d))  # type: ignore[call-overload]
    out: percentiles.Ranked = {group: {} for group in ("", *groups)}
    for (group, key), values in lists.items():
        values.sort()
        n = len(values)
        out[group][key] = (n, {p: values[-(-p * n // 100) - 1] for p in ranks})
    return out


def ranked(
    ranks: Sequence[int], groups: Sequence[str] = GROUPS, where: peewee.Expression | None = None
) -> percentiles.Ranked:
    rows = SCRATCH.select() if where is None else SCRATCH.select().where(where)
    return percentiles.nearest_ranks(
        rows, SCRATCH.d, {g: getattr(SCRATCH, g) for g in groups}, ranks
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_durations_with_ties_and_null_keys_rank_as_sorted_lists(
    table: str, seed: int
) -> None:
    rng = random.Random(seed)
    rows = [
        (
            rng.choice([rng.randint(0, 50), rng.randint(0, 10**7)]),  # many ties, some spread
            rng.choice([None, "sam", "alex", "kim", "ünï"]),
            rng.choice([None, *range(1, 40)]),  # many organizations of one or two
            rng.choice([1, 2]),
            rng.choice([None, 1, 2, 3]),
        )
        for _ in range(rng.randint(150, 400))
    ]
    fill(rows)
    got = ranked(RANKS)
    assert got == reference(rows, GROUPS, RANKS)


def test_a_group_of_one_and_a_null_key(table: str) -> None:
    fill([(30, "sam", None, 1, None), (10, None, None, 1, None), (20, None, 5, 1, None)])
    got = ranked((50, 90))
    assert got["g_agent"] == {"sam": (1, {50: 30, 90: 30}), None: (2, {50: 10, 90: 20})}
    assert got["g_org"] == {None: (2, {50: 10, 90: 30}), "5": (1, {50: 20, 90: 20})}
    assert got["g_type"] == {None: (3, {50: 20, 90: 30})}
    assert got[""] == {None: (3, {50: 20, 90: 30})}


def test_no_durations_rank_nothing(table: str) -> None:
    fill([(None, "sam", 1, 1, 1)])  # a NULL duration is not ranked
    got = ranked((50, 90))
    assert got == {"": {}, "g_agent": {}, "g_org": {}, "g_channel": {}, "g_type": {}}


def test_the_rows_condition_and_fewer_groups(table: str) -> None:
    rows = [(d, "sam" if d % 2 else "kim", d % 3, 1, None) for d in range(1, 60)]
    fill(rows)
    kept = [r for r in rows if int(r[0]) > 20]  # type: ignore[call-overload]
    got = ranked((50, 90), ("g_agent",), SCRATCH.d > 20)
    assert got == reference([r[:2] for r in kept], ("g_agent",), (50, 90))
    assert ranked((50,), (), SCRATCH.d > 20) == reference([r[:1] for r in kept], (), (50,))


def test_a_group_name_is_a_column_name(table: str) -> None:
    with pytest.raises(ValueError, match="group"):
        percentiles.nearest_ranks(
            SCRATCH.select(), SCRATCH.d, {"g_agent; DROP TABLE scratch": SCRATCH.g_agent}, (50,)
        )


def test_kept_outcomes_are_ranked_by_index_walks_without_a_sort(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has no ordered-set aggregate: a sort of every duration per key was most of a
    year's report. On the kept outcomes (v20's indexes) every statement the ranking runs
    reads an index in its order: no temporary B-tree."""
    if engine != "sqlite":
        pytest.skip("PostgreSQL ranks with percentile_disc (one statement, its own sort)")
    demo.build_demo(now=demo.ANCHOR, history=True)
    connection.open_database()
    reports.compute(scope(date(2024, 2, 11), date(2024, 3, 11)))  # keeps the outcomes
    columns = (Outcome.first_seconds, *report_breakdown.KEPT.values())
    rows = list(Outcome.select(*columns).tuples())
    assert len({r[0] for r in rows if r[0] is not None}) > 3
    plans: list[str] = []
    execute = type(database.obj).execute_sql

    def explaining(self: object, sql: str, params: object = None, *args: object) -> object:
        if sql.startswith("SELECT"):
            found = execute(self, "EXPLAIN QUERY PLAN " + sql, params).fetchall()
            plans.append(" | ".join(str(row[-1]) for row in found))
        return execute(self, sql, params, *args)

    monkeypatch.setattr(type(database.obj), "execute_sql", explaining)
    got = percentiles.nearest_ranks(
        Outcome.select(), Outcome.first_seconds, report_breakdown.KEPT, RANKS
    )
    monkeypatch.undo()
    assert got == reference(rows, GROUPS, RANKS)
    assert len(plans) > 10
    assert all("COVERING INDEX outcome_first_" in plan for plan in plans), plans
    assert not [plan for plan in plans if "TEMP B-TREE" in plan], plans
