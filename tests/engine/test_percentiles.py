"""store/percentiles: nearest-rank percentiles per group, each engine its own way (issue 17),
exactly what sorted lists give: on random durations with ties, NULL keys, groups of one,
ranks whose fraction float rounding would push a rank too high, and no durations at all; on
SQLite and on the suite's PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

import pytest

from deskterm.store import connection, percentiles
from deskterm.store.db import database

GROUPS = ("g_agent", "g_org", "g_channel", "g_type")
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


def select(groups: Sequence[str] = GROUPS) -> str:
    return f"SELECT d{''.join(', ' + g for g in groups)} FROM scratch"


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
    got = percentiles.nearest_ranks(select(), [], GROUPS, RANKS)
    assert got == reference(rows, GROUPS, RANKS)


def test_a_group_of_one_and_a_null_key(table: str) -> None:
    fill([(30, "sam", None, 1, None), (10, None, None, 1, None), (20, None, 5, 1, None)])
    got = percentiles.nearest_ranks(select(), [], GROUPS, (50, 90))
    assert got["g_agent"] == {"sam": (1, {50: 30, 90: 30}), None: (2, {50: 10, 90: 20})}
    assert got["g_org"] == {None: (2, {50: 10, 90: 30}), "5": (1, {50: 20, 90: 20})}
    assert got["g_type"] == {None: (3, {50: 20, 90: 30})}
    assert got[""] == {None: (3, {50: 20, 90: 30})}


def test_no_durations_rank_nothing(table: str) -> None:
    fill([(None, "sam", 1, 1, 1)])  # a NULL duration is not ranked
    got = percentiles.nearest_ranks(select(), [], GROUPS, (50, 90))
    assert got == {"": {}, "g_agent": {}, "g_org": {}, "g_channel": {}, "g_type": {}}


def test_the_query_s_parameters_and_fewer_groups(table: str) -> None:
    rows = [(d, "sam" if d % 2 else "kim", d % 3, 1, None) for d in range(1, 60)]
    fill(rows)
    mark = "?" if database.param == "?" else "%s"
    sql = f"SELECT d, g_agent FROM scratch WHERE d > {mark}"
    got = percentiles.nearest_ranks(sql, [20], ("g_agent",), (50, 90))
    kept = [r for r in rows if int(r[0]) > 20]  # type: ignore[call-overload]
    assert got == reference([r[:2] for r in kept], ("g_agent",), (50, 90))
    assert percentiles.nearest_ranks(sql, [20], (), (50,)) == reference(
        [r[:1] for r in kept], (), (50,)
    )


def test_the_temporary_table_is_gone_after(table: str, engine: str) -> None:
    fill([(5, "sam", 1, 1, 1)])
    percentiles.nearest_ranks(select(), [], GROUPS, (50,))
    if engine == "sqlite":
        left = database.execute_sql(
            "SELECT name FROM sqlite_temp_master WHERE name LIKE 'ranked_durations%'"
        ).fetchall()
        assert left == []


def test_a_group_name_is_a_column_name(table: str) -> None:
    with pytest.raises(ValueError, match="column"):
        percentiles.nearest_ranks(select(), [], ("g_agent; DROP TABLE scratch",), (50,))


def test_ranking_while_another_statement_reads(table: str) -> None:
    """SQLite refuses to drop a table while a statement of the connection is unfinished:
    the temporary table is emptied instead, and the next ranking gives the same answer."""
    rows = [(d * 7 % 50, "sam" if d % 3 else None, d % 4, 1, None) for d in range(80)]
    fill(rows)
    expected = reference(rows, GROUPS, (50, 90))
    reading = database.execute_sql("SELECT d FROM scratch")
    reading.fetchone()  # unfinished
    assert percentiles.nearest_ranks(select(), [], GROUPS, (50, 90)) == expected
    assert percentiles.nearest_ranks(select(), [], GROUPS, (50, 90)) == expected
    reading.fetchall()
    assert percentiles.nearest_ranks(select(), [], GROUPS, (50, 90)) == expected


def test_a_key_of_one_value_ranks_as_the_total_without_its_sort(
    table: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One channel, no types: those keys' ranks are the total's, and SQLite builds no index
    (a sort of every duration) for them; a key of one value and NULLs is two groups."""
    rows = [
        (d * 13 % 97, "sam" if d % 3 else "kim", 4 if d % 5 else None, 1, None) for d in range(90)
    ]
    fill(rows)
    built: list[str] = []
    execute = type(database.obj).execute_sql

    def recording(self: object, sql: str, *args: object, **kwargs: object) -> object:
        if sql.startswith("CREATE INDEX"):
            built.append(sql.split(" ON ")[0].rsplit(" ", 1)[1])
        return execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(type(database.obj), "execute_sql", recording)
    got = percentiles.nearest_ranks(select(), [], GROUPS, RANKS)
    assert got == reference(rows, GROUPS, RANKS)
    assert got["g_channel"] == {"1": got[""][None]}
    assert got["g_type"] == {None: got[""][None]}
    if engine == "sqlite":
        assert built == ["ranked_durations_d", "ranked_durations_k0", "ranked_durations_k1"]
