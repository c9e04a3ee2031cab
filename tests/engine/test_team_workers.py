"""Two `deskterm poll` processes on one team desk: one leads the channel, the other takes over
when the leader is killed, and between them every mail is stored once and every reply sent once.

Real PostgreSQL (the desk), Dovecot (a 10,000-mail INBOX written straight into its Maildir)
and Postfix (the replies, counted where they arrive: the customer's mailbox). The two
processes share the desk's home as two machines would share a blob directory; each holds
the channel's secrets, so either may lead. The leader is SIGKILLed in the middle of its first
sync, before its loop reaches the outbox; the survivor must take the lead, finish the sync
and send the queued replies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from bench.first_sync import load_mailbox
from deskterm.store import connection
from deskterm.store.models import ChannelLead, Message, Outbox
from tests.conftest import Desk
from tests.engine.test_crash_safety import assert_none_left, kill_main_process
from tests.engine.test_outbound import CUSTOMER, SUPPORT, add_desk
from tests.engine.test_worker_faults import wait_for
from tests.mailfactory import make_mail
from tests.servers.mailservers import _check
from tests.tui.test_app_first_sync import mailbox

pytestmark = [pytest.mark.mailserver, pytest.mark.postgres]

COUNT = 10_000
REPLIES = 5


def count(query: Any) -> int:
    connection.open_database()
    try:
        return query.count()
    finally:
        connection.close_database()


def inbound() -> int:
    return count(Message.select().where(Message.direction == "in"))


def leader_pid() -> int | None:
    connection.open_database()
    try:
        row = ChannelLead.get_or_none()
        return row.pid if row is not None else None
    finally:
        connection.close_database()


@pytest.fixture
def pollers(desk: Desk, pg: str) -> Iterator[list[subprocess.Popen]]:
    """Room for the `deskterm poll` processes of a test, each ended afterwards."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_poll(home: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli.main", "poll"],
        env={**os.environ, "DESKTERM_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )


# 10,000 mails through the real servers twice over: about 80 s alone, several minutes on a
# loaded machine; the suite's 300 s hang limit is for ordinary tests.
@pytest.mark.timeout(900)
def test_two_pollers_one_killed_mid_sync_store_each_mail_once_and_send_each_reply_once(
    desk: Desk, pg: str, boxes: Any, pollers: list[subprocess.Popen], tmp_path: Path
) -> None:
    add_desk(desk, boxes)
    load_mailbox(boxes, mailbox(COUNT - REPLIES))
    with boxes.imap(SUPPORT) as conn:  # set aside while the replies are prepared
        conn.select("INBOX")
        _check(conn.uid("STORE", "1:*", "+FLAGS.SILENT", "($DeskProcessed)"), "STORE")
    # The replies, queued before the pollers start: REPLIES customer mails, each answered.
    for i in range(REPLIES):
        boxes.append(SUPPORT, make_mail(f"Question {i}", sender=f"Jane <{CUSTOMER}>"))
    desk.run("poll", "--once")
    for row in desk.json("conversations", "--status", "all"):
        desk.run("reply", str(row["id"]), "--body-file", "-", input=f"Answer to #{row['id']}\n")
    queued = [item["id"] for item in desk.json("outbox")]
    assert len(queued) == REPLIES and inbound() == REPLIES
    with boxes.imap(SUPPORT) as conn:  # the big mailbox, new to the desk again
        conn.select("INBOX")
        # By message number, not UID: the INBOX's UIDs go on from the mail earlier tests of
        # the session put there (a UID range 1:9995 left thousands of mails set aside).
        _check(conn.store(f"1:{COUNT - REPLIES}", "-FLAGS.SILENT", "($DeskProcessed)"), "STORE")
        unflagged = _check(conn.uid("SEARCH", "UNKEYWORD", "$DeskProcessed"), "SEARCH")
    # Nothing else touches the mailbox (another test's worker left running would take mail).
    assert len(unflagged[0].split()) == COUNT - REPLIES, boxes.sessions()

    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    pollers += [start_poll(desk.home, logs[0]), start_poll(desk.home, logs[1])]
    by_pid = {p.pid: p for p in pollers}

    def describe() -> str:
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in logs)
        return f"{tails}\n--- doveadm who\n{boxes.sessions()}"

    wait_for(lambda: leader_pid() in by_pid, 60, lambda: "a poller taking the lead\n" + describe())
    leader = by_pid[leader_pid()]  # type: ignore[index]
    survivor = next(p for p in pollers if p is not leader)
    wait_for(lambda: inbound() >= 2000, 300, "the leader's sync getting under way")
    assert inbound() < COUNT, "the sync ended before the leader could be killed mid-way"
    assert count(Outbox.select().where(Outbox.state != "queued")) == 0  # nobody sent yet
    assert_none_left(kill_main_process(leader))

    wait_for(
        lambda: leader_pid() == survivor.pid, 30, lambda: "the survivor taking over\n" + describe()
    )
    wait_for(lambda: inbound() == COUNT, 600, lambda: f"all {COUNT} mails stored\n" + describe())
    sent = Outbox.select().where(Outbox.id.in_(queued), Outbox.state == "sent")
    wait_for(lambda: count(sent) == REPLIES, 60, lambda: "the replies sent\n" + describe())
    assert survivor.poll() is None, describe()

    connection.open_database()
    try:
        assert Message.select(Message.dedup_key).distinct().count() == Message.select().count()
        assert Message.select().where(Message.direction == "in").count() == COUNT
        outgoing = [m.message_id for m in Message.select().where(Message.direction == "out")]
        assert {i.attempts for i in Outbox.select()} == {1}  # each claimed once, by one sender
    finally:
        connection.close_database()
    boxes.wait_until_queue_empty(timeout=30)
    arrived = [message_from_bytes(raw)["Message-ID"] for raw in boxes.messages(CUSTOMER)]
    assert sorted(arrived) == sorted(outgoing)  # each reply once, none twice
    with boxes.imap(SUPPORT) as conn:  # the Sent copies too: one each
        conn.select("Sent", readonly=True)
        _, data = conn.uid("SEARCH", "ALL")
    assert len(data[0].split()) == REPLIES
    # Everything is marked processed on the server: the next poll has nothing to do.
    with boxes.imap(SUPPORT) as conn:
        conn.select("INBOX", readonly=True)
        _, data = conn.uid("SEARCH", "UNKEYWORD", "$DeskProcessed")
    assert data[0] == b""
