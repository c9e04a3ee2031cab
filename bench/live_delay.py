"""From one agent's change to another agent's screen, on PostgreSQL and SQLite in one run.

The same demo desk (plus `--conversations N` synthetic ones) is built in a fresh database on
the suite's own PostgreSQL server (tests/servers/pgserver.py, started here) and in an embedded
SQLite file. On each, a headless `DeskApp` (80x24, worker off, as the tests run it) shows the
open list while another connection, a thread with a peewee connection of its own as another
agent's desk would have, writes in rounds that alternate:

* triage: the priority of the conversation under the cursor (low, then high again);
* new mail: one new conversation through the real ingest, which lands on top of the list.

Each round is timed from just before the write until the first frame the app composes that
shows it (bench/frames.py: the row as drawn, or the new row on top), after a random pause so
that rounds fall anywhere in the SQLite watcher's interval. What the delay is made of:
hearing the change (PostgreSQL: NOTIFY at commit; SQLite: `PRAGMA data_version`, read every
`SqliteWatcher.interval`), the app's coalescing (`REFRESH_DELAY`), then reloading the list.

Then what hearing costs while nothing happens: the SQLite check (one `PRAGMA data_version`)
against the check it replaced (three MAX() reads, `desk_signature` before issue 15), and on
PostgreSQL what the triggers add to a write: single-row triage writes and an ingest batch,
each with the desk's triggers on and off (ALTER TABLE ... DISABLE TRIGGER USER), same run.

    uv run python -m bench.live_delay [--rounds 20] [--conversations 0] [--json F]

`bench.list_engines` runs `delays` too, on its two desks of 100,000 conversations, beside the
list's reads (issue 15's numbers in one run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import peewee

from bench.frames import Frames, log, median, p95, until
from deskterm.app import DeskApp
from deskterm.app_session import REFRESH_DELAY
from deskterm.demo import desk as demo
from deskterm.desk import triage
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.store import connection, live, live_triggers
from deskterm.store.db import database
from deskterm.store.models import Channel, Conversation, JobRun, Message
from deskterm.widgets.conversation_list import ConversationList
from tests.mailfactory import make_mail

NOW = demo.ANCHOR.replace(tzinfo=None)


# --- the desks --------------------------------------------------------------------------


def use_desk(home: Path, url: str | None) -> None:
    os.environ["DESKTERM_HOME"] = str(home)
    if url:
        os.environ["DESKTERM_DATABASE_URL"] = url
    else:
        os.environ.pop("DESKTERM_DATABASE_URL", None)
    connection.close_database()
    connection.open_database()


def build(home: Path, url: str | None, extra: int) -> None:
    use_desk(home, url)
    demo.build_demo(now=demo.ANCHOR)
    if extra:
        demo.add_synthetic(extra, now=demo.ANCHOR)


_mails = iter(range(1, 1_000_000))


def new_mail() -> None:
    """One new conversation through the real pipeline, as a poll elsewhere would ingest it."""
    n = next(_mails)
    raw = make_mail(f"Live bench question {n}", sender=f"Person {n} <p{n}@bench.example>")
    item = Fetched(f"live-{n}", raw)
    prepare_batch([item], None, 100_000, 1024)()
    Ingestor(Channel.get(Channel.name == demo.CHANNEL)).apply([item], "INBOX")


# --- the delay ----------------------------------------------------------------------------


def app_environment() -> None:
    """A throwaway vault for the app's secrets, so a headless app never asks the system's
    keyring (which a bench machine may not have) or a person for a passphrase; and the demo's
    agent sam at the keyboard, so it does not ask who is there."""
    os.environ.setdefault("DESKTERM_AGENT", "sam")
    os.environ.setdefault("DESKTERM_SECRET_BACKEND", "vault")
    os.environ.setdefault("DESKTERM_PASSPHRASE", secrets.token_urlsafe(16))


def seen(screen: Any) -> tuple[Any, ...]:
    """What a frame shows: (the cursor's conversation, its priority as drawn, the top row's
    id as drawn, how many rows the list has)."""
    rows = screen.query(ConversationList)
    if not rows:
        return (None, None, None, 0)
    rows = rows.first()
    drawn: dict[int, dict[str, Any]] = {}
    for page in rows._pages.values():
        drawn.update(page)
    current = rows.current_id
    top = rows.ids[0] if rows.ids else None
    priority = drawn.get(current, {}).get("priority") if current is not None else None
    return (current, priority, top if top in drawn else None, len(rows.ids))


async def delays(rounds: int, backend: str) -> dict[str, list[float]]:
    app = DeskApp(clock=lambda: NOW, run_worker=False)
    frames = Frames(app, seen)
    samples: dict[str, list[float]] = {"triage": [], "new mail": []}
    rng = random.Random(5)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: bool(app.screen.query(ConversationList).first().ids))
        if isinstance(app.live, live.PgListener):
            await until(app.live.listening.is_set)
        await pilot.pause(1.0)  # the app's own first writes (none expected) have settled
        rows = app.screen.query(ConversationList).first()
        target = rows.current_id
        for number in range(rounds):
            for kind in samples:
                # Anywhere in the watcher's interval, and no refresh of the last round pending.
                await asyncio.sleep(REFRESH_DELAY + 0.2 + rng.random() * 0.5)
                after, count = frames.count(), len(rows.ids)
                if kind == "triage":
                    wanted = ("low", "high")[number % 2]  # the demo's top one starts high

                    def write(p: str = wanted) -> object:
                        return triage.set_priority(target, p)

                    def shown(s: tuple[Any, ...], p: str = wanted) -> bool:
                        return s[0] == target and s[1] == p
                else:
                    write = new_mail  # type: ignore[assignment]

                    def shown(s: tuple[Any, ...], n: int = count) -> bool:
                        return s[3] == n + 1 and s[2] is not None

                t0 = time.perf_counter()
                await asyncio.to_thread(write)
                t1 = await frames.first(after, shown, timeout=10)
                samples[kind].append(t1 - t0)
            log(f"{backend}: round {number + 1}/{rounds}")
    return samples


# --- what hearing costs -------------------------------------------------------------------


def per_call(work: Callable[[], object], seconds: float = 1.0) -> float:
    """Seconds per call of `work`, over about `seconds`."""
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        work()
        calls += 1
    return (time.perf_counter() - t0) / calls


def old_signature() -> tuple[Any, ...]:
    """The check the app ran before issue 15 (queries.desk_signature): three index reads."""
    return (
        Message.select(peewee.fn.MAX(Message.id)).scalar(),
        JobRun.select(peewee.fn.MAX(JobRun.id)).scalar(),
        Conversation.select(peewee.fn.MAX(Conversation.updated_at)).scalar(),
    )


def sqlite_check_costs(path: str) -> dict[str, float]:
    own = sqlite3.connect(path)
    try:
        pragma = per_call(lambda: live.version(own))
    finally:
        own.close()
    return {"data_version_s": pragma, "old_signature_s": per_call(old_signature)}


@contextlib.contextmanager
def triggers(on: bool) -> Iterator[None]:
    tables = list(live_triggers.CONVERSATION_OF)
    if not on:
        for table in tables:
            database.execute_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    try:
        yield
    finally:
        for table in tables:
            database.execute_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')


def pg_write_costs(rounds: int) -> dict[str, list[float]]:
    """Triage writes and ingest batches of 50 mails, triggers on and off, interleaved."""
    out: dict[str, list[float]] = {k: [] for k in ("triage on", "triage off", "50 on", "50 off")}
    ids = [c for (c,) in Conversation.select(Conversation.id).limit(20).tuples()]
    for _ in range(rounds):
        for on in (True, False):
            label = "on" if on else "off"
            with triggers(on):
                t0 = time.perf_counter()
                for number, cid in enumerate(ids * 5):
                    triage.set_priority(cid, ("high", "normal")[number % 2])
                out[f"triage {label}"].append((time.perf_counter() - t0) / (len(ids) * 5))
                t0 = time.perf_counter()
                with database.atomic():
                    for _mail in range(50):
                        new_mail()
                out[f"50 {label}"].append(time.perf_counter() - t0)
    return out


# --- the run ------------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=0, help="synthetic ones added")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from tests.servers.pgserver import fresh_database, start_for_session

    app_environment()
    results: dict[str, Any] = {}
    servers = start_for_session()
    server = next(servers)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="deskterm-bench-live-") as tmp,
            fresh_database(server.url()) as url,
        ):
            desks = {"postgresql": url, "sqlite": None}
            for backend, desk_url in desks.items():
                log(f"building the {backend} desk")
                build(Path(tmp) / backend, desk_url, args.conversations)
            for backend, desk_url in desks.items():
                use_desk(Path(tmp) / backend, desk_url)
                results[backend] = asyncio.run(delays(args.rounds, backend))
                if backend == "sqlite":
                    results["sqlite check"] = sqlite_check_costs(str(database.obj.database))
                else:
                    results["postgresql writes"] = pg_write_costs(max(3, args.rounds // 4))
            connection.close_database()
    finally:
        servers.close()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def report(results: dict[str, Any]) -> None:
    print("\nFrom another connection's write to the first frame showing it:")
    print(f"{'':12} {'kind':9} {'median':>8} {'p95':>8} {'max':>8}")
    for backend in ("postgresql", "sqlite"):
        for kind, values in results[backend].items():
            print(
                f"{backend:12} {kind:9} {ms(median(values)):>8} {ms(p95(values)):>8} "
                f"{ms(max(values)):>8}"
            )
    check = results["sqlite check"]
    print(
        f"\nSQLite's check: PRAGMA data_version {check['data_version_s'] * 1e6:.1f} us, "
        f"the old desk_signature {check['old_signature_s'] * 1e6:.1f} us "
        f"({check['old_signature_s'] / check['data_version_s']:.0f}x)"
    )
    writes = results["postgresql writes"]
    on, off = median(writes["triage on"]), median(writes["triage off"])
    print(f"PostgreSQL triage write: {on * 1e3:.2f} ms with triggers, {off * 1e3:.2f} ms without")
    on, off = median(writes["50 on"]), median(writes["50 off"])
    print(f"PostgreSQL ingest of 50 mails: {ms(on)} with triggers, {ms(off)} without")


if __name__ == "__main__":
    sys.exit(main())
