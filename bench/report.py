"""A year's report at 100,000 conversations, against the demo desk, in the same run (issue 17:
<= 1 s for a year's report).

Two desks: "small" is the demo desk with its week of history (22 conversations), "large" the
same plus N synthetic conversations spread over the year before ANCHOR (`demo.add_synthetic`,
one message each from 1,000 customers), made to look worked on (`realistic`):

* nine in ten answered: a reply (an outgoing Message written by an agent, `Message.agent`, and
  its Outbox row, kind 'reply', state 'sent') 1-48 hours after the customer wrote, which is
  also the conversation's `first_response_at` (what the SLA section counts);
* the conversations that add_synthetic left pending, resolved or closed (two in five) moved
  there by a recorded status change, a day after the reply;
* two in five with time spent by an agent (a TimeEntry of 5-45 minutes at the reply);
* three in four assigned among five agents (the demo's three and two more, made through
  desk/agents); four customers in five in one of eight organizations (the demo's three and
  five more, desk/organizations); half of the conversations of one of three types (desk/types);
* one business-hours SLA policy (mon-fri 09:00-17:00, first response 4h, resolution 24h)
  added through the engine (`sla.add_policy`, as `deskterm sla add`: every clock set, a few
  seconds), dated before the desk's first conversation, so the report's SLA section and its
  business-hours durations run over every conversation. The small desk gets the same policy.

The rows are written in bulk SQL valid on SQLite and PostgreSQL (queue_reply builds a whole
MIME message per call: hours at this size). The first report on each desk is timed alone: it
counts every conversation's first response and resolution (desk/report_outcomes.py), as the
first report after an upgrade does; the next ones count only what changed since. Then
`reports.compute` for the year (weekly buckets) is timed in alternating rounds; the ratio
large/small is what means something on a shared machine. With `--postgres`, the large desk
is also built on a private PostgreSQL server started as the suite starts it
(tests/servers/pgserver.py) and timed in the same rounds: PostgreSQL / SQLite. `--sections`
times each section of the report separately too.

    uv run python -m bench.report [--conversations 100000] [--rounds 3] [--postgres] [--sections]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as midnight
from typing import Any

from bench.frames import log
from deskterm.demo import desk as demo
from deskterm.desk import agents, organizations, report_outcomes, reports, sla, types
from deskterm.desk import report_sla as rsla
from deskterm.desk.report_scope import Scope, buckets, conditions, scope
from deskterm.desk.sla_policies import Terms
from deskterm.store import connection, dialect
from deskterm.store.db import clock_at, database, is_sqlite, utcnow

MORE_AGENTS = (("dana", "Dana Fox", "dana@acme.example"), ("eli", "Eli Stone", "eli@acme.example"))
MORE_ORGANIZATIONS = ("Bluepeak", "Copperfield", "Delta Foods", "Evergreen Clinics", "Fjord Air")
TYPES = ("question", "incident", "billing")
POLICY = Terms(first_response="4h", resolution="24h", hours="mon-fri 09:00-17:00")


def build(home: str, extra: int, url: str | None = None) -> None:
    use(home, url)
    demo.build_demo(now=demo.ANCHOR, history=True)
    if extra:
        top = database.execute_sql("SELECT MAX(id) FROM conversation").fetchone()[0]
        demo.add_synthetic(extra, now=demo.ANCHOR)
        realistic(top)
    # Dated before every conversation, so no target is left uncounted as older than it.
    with clock_at(demo.ANCHOR - timedelta(days=400)):
        sla.add_policy("bench", POLICY)
    if url:  # what autovacuum does within a minute of a bulk load (bench.list_engines)
        database.execute_sql("ANALYZE")
    connection.close_database()


def realistic(top: int) -> None:
    """Replies, status changes, time spent, assignees, organizations and types for the
    synthetic conversations (ids above `top`), in bulk SQL that both engines run."""
    sqlite = is_sqlite(database.obj)

    def hours_after(column: str, hours: str) -> str:
        if sqlite:
            return f"datetime({column}, '+' || ({hours}) || ' hours')"
        return f"{column} + ({hours}) * interval '1 hour'"

    handles = [h for h, _, _ in demo.AGENTS + MORE_AGENTS]
    for handle, name, email in MORE_AGENTS:
        agents.add(email, name, handle=handle)
    for name in MORE_ORGANIZATIONS:
        organizations.add(name)
    orgs = [i for (i,) in database.execute_sql("SELECT id FROM organization ORDER BY id")]
    kinds = [types.add(name).id for name in TYPES]

    def case(key: str, values: list[Any]) -> str:
        whens = " ".join(f"WHEN {n} THEN {v!r}" for n, v in enumerate(values))
        return f"CASE {key} % {len(values)} {whens} END"

    reply_at = hours_after("created_at", "1 + id % 48")
    answered = f"id > {top} AND id % 10 <> 0"

    def sql(text: str) -> None:
        # psycopg2 reads % as its placeholder even without parameters; SQLite does not.
        database.execute_sql(text if sqlite else text.replace("%", "%%"))

    with database.atomic():
        sql(
            f"UPDATE contact SET organization_id = {case('id', [*orgs, *orgs[:2]])} "
            "WHERE email LIKE '%@synthetic.example' AND id % 5 <> 0"
        )
        sql(
            f"UPDATE conversation SET assignee = {case('id', handles)} "
            f"WHERE id > {top} AND id % 4 <> 0"
        )
        sql(
            f"UPDATE conversation SET type_id = {case('id', kinds)} WHERE id > {top} AND id % 2 = 0"
        )
        sql(
            'INSERT INTO message (conversation_id, direction, "references", from_addr, '
            'from_name, "to", cc, subject, text, headers, size, dedup_key, state, date, '
            "created_at, agent) "
            "SELECT id, 'out', '[]', 'support@acme.example', 'Acme Support', '[]', '[]', "
            "'Re: ' || subject, 'Thanks, we are on it.', '{}', 0, 'bench-reply-' || id, 'sent', "
            f"{reply_at}, {reply_at}, COALESCE(assignee, {handles[0]!r}) "
            f"FROM conversation WHERE {answered}"
        )
        sql(
            "INSERT INTO outbox (message_id, channel_id, state, kind, recipient, attempts, "
            "next_attempt_at, created_at, sent_at) "
            "SELECT m.id, c.channel_id, 'sent', 'reply', '', 1, m.date, m.date, m.date "
            "FROM message m JOIN conversation c ON c.id = m.conversation_id "
            "WHERE m.dedup_key LIKE 'bench-reply-%'"
        )
        sql(
            f"UPDATE conversation SET first_response_at = {reply_at}, message_count = 2, "
            f"updated_at = {reply_at} WHERE {answered}"
        )
        sql(
            "INSERT INTO status_change (conversation_id, old_status, new_status, agent, "
            f"changed_at) SELECT id, 'open', status, assignee, "
            f"{hours_after('created_at', '25 + id % 48')} FROM conversation "
            f"WHERE id > {top} AND status <> 'open'"
        )
        sql(
            "INSERT INTO time_entry (conversation_id, agent, seconds, started_at, source, note, "
            f"created_at) SELECT id, COALESCE(assignee, {handles[-1]!r}), 60 * (5 + id % 41), "
            f"{reply_at}, 'manual', '', {reply_at} FROM conversation "
            f"WHERE id > {top} AND id % 5 IN (1, 2)"
        )


def use(home: str, url: str | None) -> None:
    connection.close_database()
    os.environ["DESKTERM_HOME"] = home
    if url:
        os.environ["DESKTERM_DATABASE_URL"] = url
    else:
        os.environ.pop("DESKTERM_DATABASE_URL", None)


def year() -> Scope:
    return scope(demo.ANCHOR.date() - timedelta(days=364), demo.ANCHOR.date())


def timed(home: str, url: str | None = None) -> float:
    use(home, url)
    connection.open_database()
    start = time.perf_counter()
    reports.compute(year())
    return time.perf_counter() - start


def sections(home: str, url: str | None = None) -> dict[str, float]:
    """Each part of `reports.compute` timed alone, in its order (the calendar's load, then
    the sections), so a slow report says which query is slow."""
    use(home, url)
    connection.open_database()
    parts: dict[str, float] = {}

    def clock(name: str, call: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = call()
        parts[name] = time.perf_counter() - t0
        return result

    # What compute() does, a call at a time (reports._Report is the report's own query set):
    # the kept outcomes brought up to date, then the sections in one snapshot without
    # PostgreSQL's JIT.
    sc = year()
    start = datetime.combine(sc.since, midnight())
    end = datetime.combine(sc.until + timedelta(days=1), midnight())
    now = utcnow()
    counter = clock("business-hours calendar", lambda: rsla.Counter(max(end, now)))
    clock("kept outcomes checked", lambda: report_outcomes.bring_up_to_date(counter))
    with database.atomic():
        dialect.one_snapshot()
        dialect.without_jit()
        r = reports._Report(sc, start, end, conditions(sc), buckets(sc), counter)
        _sections(clock, r, counter, now)
    return parts


def _sections(
    clock: Callable[[str, Callable[[], Any]], Any],
    r: reports._Report,
    counter: rsla.Counter,
    now: datetime,
) -> None:
    new = clock("new", r.new_conversations)
    clock("replies", r.replies)
    _, first = clock("first response", lambda: r.first_response(new["total"]))
    _, resolved = clock("resolution", r.resolution)
    _, sla = clock("sla", lambda: rsla.attainment(r, counter, now))
    clock("backlog", lambda: r.backlog(new["series"]))
    clock("skipped", r.skipped)
    clock("time spent", r.time_spent)
    times = {"first_response": first, "resolution": resolved}
    clock("breakdowns", lambda: r.breakdowns(times, sla))


def held() -> str:
    """What the open desk holds, in a line: so a reader sees the rows were there."""
    counts = {
        name: database.execute_sql(sql).fetchone()[0]
        for name, sql in (
            ("conversations", "SELECT COUNT(*) FROM conversation"),
            ("replies", "SELECT COUNT(*) FROM outbox WHERE kind = 'reply'"),
            ("status changes", "SELECT COUNT(*) FROM status_change"),
            ("time entries", "SELECT COUNT(*) FROM time_entry"),
            ("assigned", "SELECT COUNT(*) FROM conversation WHERE assignee IS NOT NULL"),
            ("typed", "SELECT COUNT(*) FROM conversation WHERE type_id IS NOT NULL"),
            ("on the SLA", "SELECT COUNT(*) FROM conversation WHERE sla_policy IS NOT NULL"),
            (
                "contacts in an organization",
                "SELECT COUNT(*) FROM contact WHERE organization_id IS NOT NULL",
            ),
        )
    }
    return ", ".join(f"{n:,} {name}" for name, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--sections", action="store_true", help="time each section too")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:

        def home() -> str:  # removed with the run (a large desk is ~130 MB)
            return stack.enter_context(tempfile.TemporaryDirectory(prefix="deskterm-bench-report-"))

        desks: dict[str, tuple[str, str | None]] = {
            "small": (home(), None),
            "large": (home(), None),
        }
        if args.postgres:
            from tests.servers.pgserver import fresh_database, start_for_session

            servers = start_for_session()
            stack.callback(servers.close)
            url = stack.enter_context(fresh_database(next(servers).url()))
            desks["postgres"] = (home(), url)
        for name, (home, desk_url) in desks.items():
            t0 = time.perf_counter()
            build(home, 0 if name == "small" else args.conversations, desk_url)
            use(home, desk_url)
            connection.open_database()
            log(f"{name} desk built in {time.perf_counter() - t0:.0f} s: {held()}")
        # The first report on a desk counts every conversation's outcome (an upgraded desk's
        # first report; desk/report_outcomes.py), the next ones only what changed since.
        first = {name: timed(home, desk_url) for name, (home, desk_url) in desks.items()}
        log("first report: " + ", ".join(f"{n} {t * 1000:.0f} ms" for n, t in first.items()))
        times: dict[str, list[float]] = {name: [] for name in desks}
        parts: dict[str, list[dict[str, float]]] = {name: [] for name in desks}
        for number in range(args.rounds):
            for name, (home, desk_url) in desks.items():
                times[name].append(timed(home, desk_url))
                if args.sections:
                    parts[name].append(sections(home, desk_url))
            log(
                f"round {number + 1}: "
                + ", ".join(f"{n} {t[-1] * 1000:.0f} ms" for n, t in times.items())
            )
        connection.close_database()
    s, big = statistics.median(times["small"]), statistics.median(times["large"])
    print(f"a year's report, demo desk: {s * 1000:.0f} ms (median of {args.rounds})")
    print(f"a year's report, +{args.conversations:,}: {big * 1000:.0f} ms; {big / s:.1f}x")
    if "postgres" in times:
        pg = statistics.median(times["postgres"])
        print(f"the same on PostgreSQL: {pg * 1000:.0f} ms; {pg / big:.2f}x SQLite")
    if args.sections:
        names = list(parts["small"][0])
        print(f"\nper section, ms (median of {args.rounds}):")
        print(f"{'':26}" + "".join(f"{n:>10}" for n in desks))
        for part in names:
            row = [statistics.median(p[part] for p in parts[n]) * 1000 for n in desks]
            print(f"{part:26}" + "".join(f"{v:>10.1f}" for v in row))


if __name__ == "__main__":
    main()
