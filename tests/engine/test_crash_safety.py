"""Killing the worker (SIGKILL) at any moment loses no mail, stores none twice, and leaves no
process of it behind."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskterm.store import connection
from deskterm.store.models import Conversation, Message, SkippedMail
from tests.conftest import Desk, Desks, channel_toml
from tests.mailfactory import make_mail
from tests.servers.proctree import Proc, descendants, survivors

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
COUNT = 1500


def corpus() -> list[bytes]:
    """A mix with threads across batches, automated mail and mail without Message-ID."""
    rng = random.Random(7)
    mails = []
    for i in range(COUNT):
        kind = rng.random()
        sender = f"person{i % 97}@customer{i % 13}.example"
        if kind < 0.25 and i > 10:
            parent = rng.randrange(0, i)
            mails.append(
                make_mail(
                    f"Re: Topic {parent}",
                    sender=sender,
                    message_id=f"<m{i}@customer.example>",
                    in_reply_to=f"<m{parent}@customer.example>",
                    references=[f"<m{parent}@customer.example>"],
                )
            )
        elif kind < 0.35:
            mails.append(
                make_mail(
                    f"Out of office {i}",
                    sender=sender,
                    message_id=f"<m{i}@customer.example>",
                    headers={"Auto-Submitted": "auto-replied"},
                )
            )
        elif kind < 0.40:
            mails.append(
                make_mail(
                    f"No id {i}", sender=sender, message_id=None, body=f"Message number {i}\n"
                )
            )
        else:
            mails.append(
                make_mail(
                    f"Topic {i}",
                    sender=sender,
                    message_id=f"<m{i}@customer.example>",
                    body=f"Question {i}\n" + "lorem ipsum " * rng.randrange(5, 400),
                )
            )
    return mails


def load(servers, mails: list[bytes]) -> None:
    with servers.imap(SUPPORT) as conn:
        for raw in mails:
            typ, _ = conn.append("INBOX", None, None, raw)
            assert typ == "OK"


def snapshot() -> dict:
    connection.open_database()
    try:
        return {
            "messages": Message.select().count(),
            "conversations": Conversation.select().count(),
            "threads": sorted(c.message_count for c in Conversation.select()),
            "skipped_not_duplicate": SkippedMail.select()
            .where(SkippedMail.reason != "duplicate")
            .count(),
            "distinct_keys": Message.select(Message.dedup_key).distinct().count(),
        }
    finally:
        connection.close_database()


def poll_process(home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli.main", "poll", "--once"],
        env={**os.environ, "DESKTERM_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_main_process(process: subprocess.Popen) -> list[Proc]:
    """SIGKILL the poll's own process only, as the OOM killer or `kill -9` does (not its
    process group); returns the processes it had started, found just before."""
    family = descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return family


def assert_none_left(family: list[Proc]) -> None:
    """Every process the killed worker started (forkserver, parsing processes, resource
    tracker) ends with it: orphans held hundreds of MB for good (issue 10, 16)."""
    left = survivors(family, within=5)
    assert not left, "left behind: " + "; ".join(f"{p.pid} {p.command}" for p in left)


def test_repeated_sigkill_during_a_large_ingest(desk: Desk, mail_servers, desks: Desks) -> None:
    mail_servers.clear(SUPPORT)
    password = mail_servers.users[SUPPORT]
    mails = corpus()
    load(mail_servers, mails)

    # Reference: the same mailbox ingested by a desk that is never interrupted.
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    reference_home = desk.home.parent / "reference"
    desks.use(reference_home).add_channel(
        channel_toml(mail_servers), inbound=password, outbound=password
    )
    started = time.monotonic()
    assert poll_process(reference_home).wait(timeout=300) == 0
    whole = time.monotonic() - started  # the kills below land inside a run this long
    expected = snapshot()
    assert expected["messages"] + expected["skipped_not_duplicate"] == COUNT
    with mail_servers.imap(SUPPORT) as conn:
        conn.select("INBOX")
        conn.uid("STORE", "1:*", "-FLAGS.SILENT", "($DeskProcessed)")

    # The desk under test: killed again and again at random moments.
    desks.use(desk.home)
    rng = random.Random(11)
    kills = 0
    for _ in range(8):
        process = poll_process(desk.home)
        time.sleep(rng.uniform(0.25, 0.6) * whole)  # start-up, fetching or committing
        if process.poll() is not None:
            break
        # Often still starting up: test_sigkill_of_the_worker_ends_its_parsing_processes
        # makes sure of a kill while the parsing processes run.
        assert_none_left(kill_main_process(process))
        kills += 1
    assert kills >= 3, "the ingest finished before it could be interrupted"
    assert poll_process(desk.home).wait(timeout=300) == 0
    got = snapshot()
    assert got["messages"] == expected["messages"]
    assert got["distinct_keys"] == got["messages"]
    assert got["conversations"] == expected["conversations"]
    assert got["threads"] == expected["threads"]
    assert got["skipped_not_duplicate"] == expected["skipped_not_duplicate"]
    # Everything is marked processed on the server: the next poll has nothing to do.
    with mail_servers.imap(SUPPORT) as conn:
        conn.select("INBOX", readonly=True)
        _, data = conn.uid("SEARCH", "UNKEYWORD", "$DeskProcessed")
    assert data[0] == b""


def poll_with_workers(desk: Desk, mail_servers) -> tuple[subprocess.Popen, list[Proc]]:
    """`deskterm poll` on a first sync big enough for its parsing processes, returned once
    the resource tracker, the forkserver and two workers below it (grandchildren) run."""
    mail_servers.clear(SUPPORT)
    load(mail_servers, corpus()[:1200])
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    process = poll_process(desk.home)
    deadline = time.monotonic() + 60
    while len(family := descendants(process.pid)) < 4:
        assert process.poll() is None, "the poll ended before its worker processes started"
        assert time.monotonic() < deadline, f"no worker processes: {family}"
        time.sleep(0.02)
    return process, family


def test_sigkill_of_the_worker_ends_its_parsing_processes(desk: Desk, mail_servers) -> None:
    """SIGKILL of `deskterm poll` while its worker processes fetch and parse: the forkserver,
    each worker and the resource tracker end too, within seconds."""
    process, _family = poll_with_workers(desk, mail_servers)
    # At once: the parsing processes live only while a batch is parsed (0.3 s of this sync).
    family = kill_main_process(process)
    assert len(family) >= 4, family
    assert_none_left(family)
    # The killed run is closed by the next worker, which finishes the job.
    assert poll_process(desk.home).wait(timeout=300) == 0


def test_server_dropping_the_connection_mid_sync(desk: Desk, mail_servers) -> None:
    """Dovecot goes away after the first batch: the run says so, the next one finishes."""
    from deskterm.engine.events import Event, SyncProgress
    from deskterm.engine.worker import Worker
    from deskterm.secrets.store import open_secret_store

    mail_servers.clear(SUPPORT)
    load(mail_servers, corpus()[:1200])
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    connection.open_database()
    stopped = []

    def on_event(event: Event) -> None:
        if isinstance(event, SyncProgress) and event.done >= 500 and not stopped:
            mail_servers.stop_dovecot()
            stopped.append(event.done)

    worker = Worker(store=open_secret_store(), on_event=on_event)
    try:
        run = worker.run_once()[0]
    finally:
        worker.close()
        mail_servers.start_dovecot()
    assert stopped
    assert run.error and "127.0.0.1" in run.error
    assert 0 < run.ingested + run.skipped < 1200
    worker = Worker(store=open_secret_store())
    second = worker.run_once()[0]
    worker.close()
    assert second.error is None
    total = (
        Message.select().count()
        + SkippedMail.select().where(SkippedMail.reason != "duplicate").count()
    )
    assert total == 1200
    assert Message.select(Message.dedup_key).distinct().count() == Message.select().count()
    connection.close_database()


def test_the_parsing_processes_hold_no_secret_in_their_environment(
    desk: Desk, mail_servers
) -> None:
    """The forkserver, the resource tracker and the parsing processes start from the
    environment of the process that starts them: without the vault's passphrase (review of
    issue 10: all three held DESKTERM_PASSPHRASE in /proc/<pid>/environ)."""
    process, family = poll_with_workers(desk, mail_servers)
    own = Path(f"/proc/{process.pid}/environ").read_bytes()
    environments = []
    for proc in family:
        with contextlib.suppress(OSError):
            environments.append(Path(f"/proc/{proc.pid}/environ").read_bytes())
    assert process.wait(timeout=300) == 0
    assert b"DESKTERM_PASSPHRASE=" in own  # the poll was given it...
    assert len(environments) >= 3
    assert all(b"DESKTERM_PASSPHRASE=" not in env for env in environments)  # ...they were not


def test_a_mail_that_kills_its_parser_is_set_aside_not_fetched_forever(
    desk: Desk, mail_servers
) -> None:
    """The review of issue 10: parsing can take ten times a mail's size, and the OOM killer
    ends the process parsing it with SIGKILL; the next poll fetched the same mail and died
    again, for good. Here the poll is killed while it parses, as the OOM killer would: then
    the suspects are parsed one at a time, and the one the parser died on alone twice is
    recorded as failed (kept whole, unparsed) while the rest arrives."""
    from deskterm.inbound.parse_guard import KILLED, ParseGuard
    from tests.engine.test_fetch_memory import big_mail

    mail_servers.clear(SUPPORT)
    big = mail_servers.append(SUPPORT, big_mail(1))
    small = mail_servers.append(SUPPORT, make_mail("Small and harmless"))
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    with mail_servers.imap(SUPPORT) as conn:
        epoch = conn.select("INBOX") and conn.response("UIDVALIDITY")[1][0].decode()
    guard = ParseGuard(1, "INBOX", epoch).path

    def kill_while(parsing: str) -> None:
        process = poll_process(desk.home)
        deadline = time.monotonic() + 60
        while parsing not in (guard.read_text() if guard.exists() else ""):
            assert process.poll() is None, "the poll ended before it was caught parsing"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    kill_while(f'"uids": ["{big}", "{small}"], "alone": false')  # the batch
    kill_while(f'"uids": ["{big}"], "alone": true, "deaths": 0')  # the first suspect, alone
    kill_while(f'"uids": ["{big}"], "alone": true, "deaths": 1')  # and once more
    assert poll_process(desk.home).wait(timeout=120) == 0
    connection.open_database()
    try:
        [row] = SkippedMail.select()
        assert (row.uid, row.reason) == (str(big), KILLED)
        assert row.raw_path  # the mail is kept whole
        assert [m.subject for m in Message.select()] == ["Small and harmless"]
    finally:
        connection.close_database()
    assert not guard.exists()
    assert poll_process(desk.home).wait(timeout=120) == 0  # nothing left to fetch or die on
    connection.open_database()
    try:
        assert Message.select().count() == 1 and SkippedMail.select().count() == 1
    finally:
        connection.close_database()
