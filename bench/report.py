"""A year's report at 100,000 conversations, against the demo desk, in the same run (issue 17:
<= 1 s for a year's report).

Two SQLite desks: "small" is the demo desk with its week of history (22 conversations), "large"
the same plus N synthetic conversations spread over the year before ANCHOR
(`demo.add_synthetic`, one message each), every tenth of them answered and resolved through
the engine's own functions (so the first-response, resolution and backlog queries have rows
to rank). `reports.compute` for the year is timed in alternating rounds; the ratio large/small
is what means something on a shared machine. With `--postgres`, the large desk is also built
on a private PostgreSQL server started as the suite starts it (tests/servers/pgserver.py) and
timed in the same rounds: PostgreSQL / SQLite.

    uv run python -m bench.report [--conversations 100000] [--rounds 5] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from datetime import timedelta

from deskterm.demo import desk as demo
from deskterm.desk import reports
from deskterm.desk.report_scope import scope
from deskterm.store import connection
from deskterm.store.db import database


def build(home: str, extra: int, url: str | None = None) -> None:
    use(home, url)
    demo.build_demo(now=demo.ANCHOR, history=True)
    if extra:
        demo.add_synthetic(extra, now=demo.ANCHOR)
        # A tenth answered (as a reply would: an outbox row) and resolved a day later, in bulk
        # SQL here only because queue_reply builds a whole MIME message per call.
        later = "created_at + interval '1 day'" if url else "datetime(created_at, '+1 day')"
        database.execute_sql(
            "INSERT INTO status_change (conversation_id, old_status, new_status, changed_at) "
            f"SELECT id, 'open', status, {later} FROM conversation "
            "WHERE status <> 'open' AND id > 30"
        )
        if url:  # what autovacuum does within a minute of a bulk load (bench.list_engines)
            database.execute_sql("ANALYZE")
    connection.close_database()


def use(home: str, url: str | None) -> None:
    connection.close_database()
    os.environ["DESKTERM_HOME"] = home
    if url:
        os.environ["DESKTERM_DATABASE_URL"] = url
    else:
        os.environ.pop("DESKTERM_DATABASE_URL", None)


def timed(home: str, url: str | None = None) -> float:
    use(home, url)
    connection.open_database()
    start = time.perf_counter()
    reports.compute(scope(demo.ANCHOR.date() - timedelta(days=364), demo.ANCHOR.date()))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = None
        if args.postgres:
            from tests.servers.pgserver import fresh_database, start_for_session

            servers = start_for_session()
            stack.callback(servers.close)
            url = stack.enter_context(fresh_database(next(servers).url()))
        small, large, pg_home = tempfile.mkdtemp(), tempfile.mkdtemp(), tempfile.mkdtemp()
        build(small, 0)
        build(large, args.conversations)
        if url:
            build(pg_home, args.conversations, url)
        times: dict[str, list[float]] = {"small": [], "large": [], "postgres": []}
        for _ in range(args.rounds):
            times["small"].append(timed(small))
            times["large"].append(timed(large))
            if url:
                times["postgres"].append(timed(pg_home, url))
        connection.close_database()
    s, big = statistics.median(times["small"]), statistics.median(times["large"])
    print(f"a year's report, demo desk: {s * 1000:.0f} ms (median of {args.rounds})")
    print(f"a year's report, +{args.conversations:,}: {big * 1000:.0f} ms; {big / s:.1f}x")
    if url:
        pg = statistics.median(times["postgres"])
        print(f"the same on PostgreSQL: {pg * 1000:.0f} ms; {pg / big:.2f}x SQLite")


if __name__ == "__main__":
    main()
