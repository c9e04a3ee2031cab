"""A year's report at 100,000 conversations, against the demo desk, in the same run (issue 17:
<= 1 s for a year's report).

Two SQLite desks: "small" is the demo desk with its week of history (22 conversations), "large"
the same plus N synthetic conversations spread over the year before ANCHOR
(`demo.add_synthetic`, one message each), every tenth of them answered and resolved through
the engine's own functions (so the first-response, resolution and backlog queries have rows
to rank). `reports.compute` for the year is timed in alternating rounds; the ratio large/small
is what means something on a shared machine.

    uv run python -m bench.report [--conversations 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
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


def build(home: str, extra: int) -> None:
    os.environ["DESKTERM_HOME"] = home
    connection.close_database()
    demo.build_demo(now=demo.ANCHOR, history=True)
    if extra:
        demo.add_synthetic(extra, now=demo.ANCHOR)
        # A tenth answered (as a reply would: an outbox row) and resolved a day later, in bulk
        # SQL here only because queue_reply builds a whole MIME message per call.
        database.execute_sql(
            "INSERT INTO status_change (conversation_id, old_status, new_status, changed_at) "
            "SELECT id, 'open', status, datetime(created_at, '+1 day') FROM conversation "
            "WHERE status <> 'open' AND id > 30"
        )
    connection.close_database()


def timed(home: str) -> float:
    os.environ["DESKTERM_HOME"] = home
    connection.close_database()
    connection.open_database()
    start = time.perf_counter()
    reports.compute(scope(demo.ANCHOR.date() - timedelta(days=364), demo.ANCHOR.date()))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    small, large = tempfile.mkdtemp(), tempfile.mkdtemp()
    build(small, 0)
    build(large, args.conversations)
    times: dict[str, list[float]] = {"small": [], "large": []}
    for _ in range(args.rounds):
        times["small"].append(timed(small))
        times["large"].append(timed(large))
    s, big = statistics.median(times["small"]), statistics.median(times["large"])
    print(f"a year's report, demo desk: {s * 1000:.0f} ms (median of {args.rounds})")
    print(f"a year's report, +{args.conversations:,}: {big * 1000:.0f} ms; {big / s:.1f}x")


if __name__ == "__main__":
    main()
