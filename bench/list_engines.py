"""The list's reads at 100,000 conversations on PostgreSQL and on SQLite, side by side in one run.

Two desks hold the same conversations (the demo desk's mail through the real pipeline plus N
made-up ones from `deskterm.demo.desk.add_synthetic`, the same ids on both): one embedded
SQLite file, one database on a private PostgreSQL server (`tests/servers/pgserver.py`, as the
suite starts it: 127.0.0.1, SCRAM, the desk connected as an ordinary role). Then, in rounds
that alternate which engine goes first, the engine calls the app makes are timed in-process:

* first page: what the list loads when it opens (the open tab's ids in order, its first page
  of rows, the tabs' counts);
* key: what a cursor move re-reads, a page of rows (64) the list had not fetched, at a random
  place in the list (`G` is the same read at the end);
* search per keystroke: every prefix of each of SEARCHES, as the screen runs it after the
  debounce: the first rows (`first_conversation_ids`, or the whole list where that returns
  None) and, separately, the whole list with its counts;
* open: what the thread screen reads for a conversation (its detail, tags, attachments and
  the contact's other conversations), for random conversations.

Then, on the same two desks, the delay from another agent's change to this agent's screen
(`bench.live_delay.delays`: a headless app at 80x24 shows the open list while another
connection changes the priority under the cursor or ingests a new mail, each timed to the
first frame that shows it), `--live-rounds` rounds of each kind per engine.

SQLite is the baseline: the report gives medians and p95 per engine and PostgreSQL / SQLite.
The PostgreSQL server is on the same machine, so each query pays a loopback round trip that
SQLite does not. Needs root or an installed PostgreSQL, like the suite. `--json F` writes
every sample.

    uv run python -m bench.list_engines [--conversations 100000] [--rounds 3] [--live-rounds 10]
        [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import live_delay
from bench.frames import log, median, p95
from deskterm.demo import desk as demo
from deskterm.desk import attachments, list_index, queries, triage
from deskterm.store import connection
from deskterm.store.db import database
from deskterm.store.models import Conversation
from tests.servers.pgserver import fresh_database, start_for_session

ENGINES = ("sqlite", "postgres")
SEARCHES = ("order 1", "zoë", "refund 12", "qx")  # as bench.ui_list: one letter to a miss
PAGE = 64  # widgets.conversation_list.PAGE
KEYS = 30  # page reads per round
OPENS = 30  # conversations opened per round


def use(engine: str, homes: dict[str, Path], url: str) -> None:
    connection.close_database()
    os.environ["DESKTERM_HOME"] = str(homes[engine])
    if engine == "postgres":
        os.environ["DESKTERM_DATABASE_URL"] = url
    else:
        os.environ.pop("DESKTERM_DATABASE_URL", None)
    connection.open_database()


def build(engine: str, extra: int) -> float:
    t0 = time.perf_counter()
    demo.build_demo(now=demo.ANCHOR)
    demo.add_synthetic(extra, now=demo.ANCHOR)
    if engine == "postgres":
        # What autovacuum does within a minute of a bulk load: the planner's statistics. A
        # desk's SQLite file has none (deskterm never runs ANALYZE there), so it is left so.
        database.execute_sql("ANALYZE")
    return time.perf_counter() - t0


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = call()
    return time.perf_counter() - t0, result


def first_page() -> list[int]:
    ids = list_index.conversation_ids("open")
    list_index.conversation_rows(ids[:PAGE])
    list_index.status_counts()
    return ids


def search_first_rows(search: str) -> list[int]:
    head = list_index.first_conversation_ids(2 * PAGE, "open", search=search)
    ids = head if head is not None else list_index.conversation_ids("open", search=search)
    list_index.conversation_rows(ids[:PAGE])
    return ids


def search_whole(search: str) -> list[int]:
    ids = list_index.conversation_ids("open", search=search)
    list_index.status_counts()
    return ids


def open_conversation(conversation_id: int) -> None:
    queries.conversation_detail(conversation_id)
    triage.tags(conversation_id)
    attachments.of_conversation(conversation_id)
    queries.other_conversations(conversation_id)


def one_round(rng: random.Random) -> dict[str, Any]:
    samples: dict[str, Any] = {"key": [], "search_first": [], "search_whole": [], "open": []}
    samples["first_page"], ids = timed(first_page)
    samples["rows"] = len(ids)
    for _ in range(KEYS):
        start = rng.randrange(0, max(1, len(ids) - PAGE))
        samples["key"].append(
            timed(lambda s=start: list_index.conversation_rows(ids[s : s + PAGE]))[0]
        )
    found: dict[str, int] = {}
    for search in SEARCHES:
        for end in range(1, len(search) + 1):
            typed = search[:end]
            samples["search_first"].append(timed(lambda t=typed: search_first_rows(t))[0])
            elapsed, whole = timed(lambda t=typed: search_whole(t))
            samples["search_whole"].append(elapsed)
        found[search] = len(whole)
    samples["found"] = found
    top = Conversation.select(Conversation.id).order_by(Conversation.id.desc()).scalar()
    for conversation_id in [rng.randint(1, top) for _ in range(OPENS)]:
        samples["open"].append(timed(lambda c=conversation_id: open_conversation(c))[0])
    return samples


ROWS = (
    ("first page", "first_page"),
    ("key (a page of rows)", "key"),
    ("search key: first rows", "search_first"),
    ("search key: whole list", "search_whole"),
    ("open a conversation", "open"),
)


def values(rounds: list[dict[str, Any]], key: str) -> list[float]:
    out: list[float] = []
    for r in rounds:
        out.extend(r[key] if isinstance(r[key], list) else [r[key]])
    return out


def table_row(label: str, sqlite: list[float], postgres: list[float]) -> dict[str, float]:
    """Print one row of the table (medians and p95 per engine, PostgreSQL / SQLite) and
    return it in ms."""
    row = {
        "sqlite_ms": median(sqlite) * 1000,
        "sqlite_p95_ms": p95(sqlite) * 1000,
        "postgres_ms": median(postgres) * 1000,
        "postgres_p95_ms": p95(postgres) * 1000,
    }
    row["ratio"] = row["postgres_ms"] / row["sqlite_ms"]
    print(
        f"{label:<26}{row['sqlite_ms']:>9.1f} ({row['sqlite_p95_ms']:5.1f}) ms"
        f"{row['postgres_ms']:>9.1f} ({row['postgres_p95_ms']:5.1f}) ms{row['ratio']:>10.2f}x"
    )
    return row


def live_summary(live: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """The change delay per engine: every kind together, then each kind."""
    print("\nfrom another agent's change to the first frame showing it, medians (p95):")
    return {
        kind: table_row(
            kind,
            *([v for k, vs in live[e].items() if kind in ("all", k) for v in vs] for e in ENGINES),
        )
        for kind in ("all", *live["sqlite"])
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--live-rounds", type=int, default=10, help="rounds of the change delay (0: none)"
    )
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args()
    live_delay.app_environment()

    servers = start_for_session()
    server = next(servers)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="deskterm-bench-engines-") as tmp,
            fresh_database(server.url()) as url,
        ):
            homes = {engine: Path(tmp) / engine for engine in ENGINES}
            built = {}
            for engine in ENGINES:
                log(f"building the {engine} desk ({args.conversations:,} extra conversations)")
                use(engine, homes, url)
                built[engine] = build(engine, args.conversations)
            results: dict[str, list[dict[str, Any]]] = {engine: [] for engine in ENGINES}
            for number in range(args.rounds):
                for engine in ENGINES if number % 2 == 0 else ENGINES[::-1]:
                    use(engine, homes, url)
                    results[engine].append(one_round(random.Random(number)))
                    log(
                        f"round {number + 1} {engine}: first page "
                        f"{results[engine][-1]['first_page'] * 1000:.0f} ms"
                    )
            live: dict[str, dict[str, list[float]]] = {}
            for engine in ENGINES if args.live_rounds else ():
                use(engine, homes, url)
                live[engine] = asyncio.run(live_delay.delays(args.live_rounds, engine))
            connection.close_database()
    finally:
        servers.close()

    sqlite, postgres = results["sqlite"], results["postgres"]
    assert sqlite[0]["found"] == postgres[0]["found"], "the engines found different lists"
    print(
        f"\nthe list at {sqlite[0]['rows']:,} open conversations, medians (p95) of "
        f"{args.rounds} rounds\n"
    )
    print(f"{'':<26}{'SQLite':>20}{'PostgreSQL':>20}{'PG/SQLite':>11}")
    summary: dict[str, Any] = {}
    for label, key in ROWS:
        summary[key] = table_row(label, values(sqlite, key), values(postgres, key))
    if live:
        summary["live"] = live_summary(live)
    found = ", ".join(f"{s!r} {n:,}" for s, n in sqlite[0]["found"].items())
    print(
        f"\n(desks built in {built['sqlite']:.0f} s and {built['postgres']:.0f} s; "
        f"{len(sqlite[0]['search_first'])} search keystrokes a round; open conversations "
        f"found by each whole search, the same on both: {found})"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "summary": summary,
                    "built_s": built,
                    "samples": results,
                    "live": live,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
