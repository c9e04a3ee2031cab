"""Nearest-rank percentiles per breakdown key (issue 17): store/percentiles against the single
window statement it replaced (a MATERIALIZED CTE and one ROW_NUMBER window per key, kept
here as the baseline), on the same N random durations with keys like a desk's (a few dozen
agent handles, a couple of thousand organizations, a few channels and types, NULLs among
them), in the same run, on SQLite and, with `--postgres`, on a private PostgreSQL started as
the suite starts it. Both answers are checked equal before anything is timed. On SQLite the
table has the indexes the report's kept outcomes have (v20: one per key, ordered by the
duration), which store/percentiles walks.

    uv run python -m bench.ranks [--durations 90000] [--rounds 5] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable

import peewee

from deskterm.store import connection, percentiles
from deskterm.store.db import database, is_sqlite

GROUPS = ("g_agent", "g_org", "g_channel", "g_type")
SELECT = "SELECT d, g_agent, g_org, g_channel, g_type FROM bench_durations"
TABLE = peewee.Table("bench_durations", ("d", *GROUPS)).bind(database)


def fill(count: int) -> None:
    """The durations: seconds from a minute to a month, skewed short as replies are."""
    rng = random.Random(17)
    agents = [None, *(f"agent{i}" for i in range(40))]
    rows = [
        (
            int(rng.lognormvariate(8, 1.6)) % (31 * 86400),
            rng.choice(agents),
            rng.choice([None, *range(1, 2000)]),
            rng.randint(1, 5),
            rng.choice([None, *range(1, 7)]),
        )
        for _ in range(count)
    ]
    database.execute_sql("DROP TABLE IF EXISTS bench_durations")
    database.execute_sql(
        "CREATE TABLE bench_durations (d BIGINT NOT NULL, g_agent TEXT, g_org INTEGER, "
        "g_channel INTEGER, g_type INTEGER)"
    )
    mark = database.param
    with database.atomic():
        for i in range(0, len(rows), 1000):
            chunk = rows[i : i + 1000]
            values = ", ".join([f"({', '.join([mark] * 5)})"] * len(chunk))
            database.execute_sql(
                f"INSERT INTO bench_durations VALUES {values}", [v for r in chunk for v in r]
            )
    if is_sqlite(database.obj):  # as v20 indexes the kept outcomes
        database.execute_sql(f"CREATE INDEX bench_all ON bench_durations (d, {', '.join(GROUPS)})")
        for key in GROUPS:
            others = ", ".join(g for g in GROUPS if g != key)
            database.execute_sql(
                f"CREATE INDEX bench_{key} ON bench_durations ({key}, d, {others})"
            )
    database.execute_sql("ANALYZE")


def windows(ranks: tuple[int, ...] = (50, 90)) -> percentiles.Ranked:
    """The statement report_sql.ranked ran before store/percentiles (the baseline)."""
    wanted = " OR ".join(f"rn = (n * {p} + 99) / 100" for p in ranks)
    branches = []
    for group in ("", *GROUPS):
        key = f"CAST({group} AS TEXT)" if group else "CAST(NULL AS TEXT)"
        over = f"PARTITION BY {group} " if group else ""
        branches.append(
            f"SELECT '{group}' AS g, k, rn, n, d FROM (SELECT {key} AS k, d, "
            f"ROW_NUMBER() OVER ({over}ORDER BY d) AS rn, COUNT(*) OVER ({over}) AS n "
            f"FROM durations) AS ranked WHERE {wanted}"
        )
    rows = database.execute_sql(
        f"WITH durations AS MATERIALIZED ({SELECT}) " + " UNION ALL ".join(branches)
    ).fetchall()
    found: dict[tuple[str, str | None], tuple[int, dict[int, int]]] = {}
    for group, key, rn, n, d in rows:
        _count, at = found.setdefault((str(group), key), (int(n), {}))
        at[int(rn)] = int(d)
    out: percentiles.Ranked = {group: {} for group in ("", *GROUPS)}
    for (group, key), (count, at) in found.items():
        out[group][key] = (count, {p: at.get((count * p + 99) // 100) for p in ranks})
    return out


def new() -> percentiles.Ranked:
    groups = {g: getattr(TABLE, g) for g in GROUPS}
    return percentiles.nearest_ranks(TABLE.select(), TABLE.d, groups, (50, 90))


def median_ms(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(name: str, home: str, url: str | None, count: int, rounds: int) -> None:
    connection.close_database()
    os.environ["DESKTERM_HOME"] = home
    if url:
        os.environ["DESKTERM_DATABASE_URL"] = url
    else:
        os.environ.pop("DESKTERM_DATABASE_URL", None)
    connection.open_database()
    fill(count)
    assert new() == windows(), "the two ways disagree"
    old_ms, new_ms = median_ms(windows, rounds), median_ms(new, rounds)
    print(
        f"{name}, {count:,} durations: windows {old_ms:.0f} ms, store/percentiles "
        f"{new_ms:.0f} ms ({old_ms / new_ms:.1f}x faster; median of {rounds})"
    )
    database.execute_sql("DROP TABLE bench_durations")
    connection.close_database()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--durations", type=int, default=90_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        measure("SQLite", tempfile.mkdtemp(), None, args.durations, args.rounds)
        if args.postgres:
            from tests.servers.pgserver import fresh_database, start_for_session

            servers = start_for_session()
            stack.callback(servers.close)
            url = stack.enter_context(fresh_database(next(servers).url()))
            measure("PostgreSQL", tempfile.mkdtemp(), url, args.durations, args.rounds)


if __name__ == "__main__":
    main()
