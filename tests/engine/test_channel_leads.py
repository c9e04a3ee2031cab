"""One leader per channel on a team desk: the advisory lock and the leadership built on it.

Against the suite's real PostgreSQL: a second holder is refused, a killed holder's lock is
taken over, a lost lock connection is noticed (by the next check and by the heartbeat), a
machine without a channel's secrets never leads it, taking the lead tidies what the killed
leader left (the outbox's claim across connections is tests/engine/test_send_once.py's).
The whole thing with two real `deskterm poll` processes is in
tests/engine/test_team_workers.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deskterm.channels import leaders
from deskterm.engine.events import Event, LeadChanged
from deskterm.engine.leadership import INTERRUPTED, ChannelLeads
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.advisory import AdvisoryLocks, channel_key
from deskterm.store.db import utcnow
from deskterm.store.models import Channel, ChannelLead, Conversation, JobRun, Message, Outbox
from tests.conftest import Desk

pytestmark = pytest.mark.postgres

ACTIVE = """
name = "{name}"
status = "active"
[inbound]
protocol = "imap"
host = "mail.example.com"
username = "support@desk.test"
[outbound]
host = "mail.example.com"
username = "support@desk.test"
from = "Desk Support <support@desk.test>"
"""


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def locks(pg: str) -> Iterator[Callable[..., AdvisoryLocks]]:
    """Lock holders on the test's database, each its own session, all closed afterwards."""
    made: list[AdvisoryLocks] = []

    def make(**kwargs: Any) -> AdvisoryLocks:
        made.append(AdvisoryLocks(pg, **kwargs))
        return made[-1]

    yield make
    for holder in made:
        holder.close()


def terminate(pg_server: Any, backend: int | None) -> None:
    """End a session from the server's side, as a cut network or a restart does."""
    assert backend is not None
    with pg_server.admin().cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (backend,))
        assert cur.fetchone()[0]


# --- the lock ---------------------------------------------------------------------------


def test_a_channel_s_key_is_stable_and_its_own() -> None:
    assert channel_key("a" * 32) == channel_key("a" * 32)
    assert channel_key("a" * 32) != channel_key("b" * 32)
    assert -(2**63) <= channel_key("c" * 32) < 2**63


def test_a_second_holder_is_refused_until_the_first_lets_go(locks) -> None:
    first, second = locks(), locks()
    key = channel_key("support-uid")
    assert first.try_lock(key)
    assert first.holds(key)
    assert not second.try_lock(key)
    assert not second.holds(key)
    assert second.try_lock(channel_key("another-uid"))  # another channel is free
    first.close()
    assert second.try_lock(key)


def test_a_killed_holder_s_lock_is_taken_over(pg: str, locks) -> None:
    key = channel_key("support-uid")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from deskterm.store.advisory import AdvisoryLocks\n"
            "locks = AdvisoryLocks(sys.argv[1])\n"
            "assert locks.try_lock(int(sys.argv[2]))\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
            pg,
            str(key),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        waiting = locks()
        assert not waiting.try_lock(key)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        wait_for(lambda: waiting.try_lock(key), what="the killed holder's lock freed")
        assert waiting.holds(key)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_lost_connection_is_noticed_and_the_lock_goes_to_another(pg_server, locks) -> None:
    key = channel_key("support-uid")
    leader, other = locks(), locks()
    assert leader.try_lock(key)
    terminate(pg_server, leader.backend_pid())
    assert not leader.holds(key)  # the next check finds the session gone
    assert leader.held() == set()
    assert other.try_lock(key)
    assert not leader.try_lock(key)  # a new session of its own, refused as any other


def test_the_heartbeat_notices_a_lost_connection_between_checks(pg_server, locks) -> None:
    key = channel_key("support-uid")
    leader = locks(heartbeat=0.1)
    assert leader.try_lock(key)
    terminate(pg_server, leader.backend_pid())
    wait_for(lambda: not leader.held(), what="the heartbeat noticing the lost session")


def test_the_lock_session_frees_itself_when_its_holder_freezes(pg: str, locks) -> None:
    """The server ends a session idle past idle_session_timeout: a frozen holder (a paused
    VM, SIGSTOP) does not keep the lock for ever; the heartbeat keeps a live one busy."""
    leader = locks()
    assert leader.try_lock(channel_key("support-uid"))
    conn = leader._connection()
    with conn.cursor() as cur:
        cur.execute("SHOW idle_session_timeout")
        assert cur.fetchone()[0] == "1min"
        cur.execute("SHOW tcp_keepalives_idle")
        assert cur.fetchone()[0] == "5"


# --- the leadership ----------------------------------------------------------------------


@pytest.fixture
def team(desk: Desk, pg: str) -> dict[str, Channel]:
    """A team desk with two active channels: `support` with its secrets on this machine,
    `billing` without any (another machine's)."""
    desk.add_channel(ACTIVE.format(name="support"), inbound="pw-in", outbound="pw-out")
    desk.add_channel(ACTIVE.format(name="billing"))
    connection.open_database()
    return {c.name: c for c in Channel.select()}


def leadership(heard: list[Event] | None = None) -> ChannelLeads:
    locks = connection.channel_locks()
    assert locks is not None
    store = open_secret_store()
    return ChannelLeads(locks, lambda: store, (heard if heard is not None else []).append)


def test_one_worker_leads_a_channel_and_the_desk_says_which(team) -> None:
    heard: list[Event] = []
    first, second = leadership(heard), leadership()
    try:
        assert first.leads(team["support"])
        assert [e.message for e in heard if isinstance(e, LeadChanged)] == [
            "this worker now leads support"
        ]
        assert not second.leads(team["support"])
        assert "another worker leads it: " in second.why_not(team["support"])
        shown = leaders.of_channel(team["support"])
        assert (shown["state"], shown["pid"]) == ("leading", os.getpid())
        assert first.leads(team["support"])  # asked again: still held, no new event
        assert len([e for e in heard if isinstance(e, LeadChanged)]) == 1
        first.close()
        assert leaders.of_channel(team["support"])["state"] == "none"
        assert second.leads(team["support"])
    finally:
        first.close()
        second.close()


def test_a_machine_without_a_channel_s_secrets_never_leads_it(team) -> None:
    lead = leadership()
    try:
        assert not lead.leads(team["billing"])
        assert lead.locks.held() == set()  # it did not even try the lock
        assert "holds none of its secrets" in lead.why_not(team["billing"])
        assert ChannelLead.get_or_none(ChannelLead.channel == team["billing"].id) is None
        # Free for the machine that holds them:
        other = AdvisoryLocks(connection._libpq_url(connection.database_url() or ""))
        try:
            assert other.try_lock(channel_key(team["billing"].uid))
        finally:
            other.close()
    finally:
        lead.close()


def test_a_machine_with_one_side_s_password_is_told_which_one_it_lacks(team, desk: Desk) -> None:
    """Holding the inbound password but not the outbound one, a machine never leads (the
    leader sends too), and it is told which secret to store here, not that it holds none."""
    desk.run("channel", "secret", "billing", "--inbound", "--stdin", input="pw-in\n")
    connection.open_database()
    lead = leadership()
    try:
        assert not lead.leads(team["billing"])
        assert lead.why_not(team["billing"]) == (
            "this machine lacks its outbound password, so it never leads it (the leader polls "
            "and sends); `deskterm channel secret billing --outbound --stdin` stores it here"
        )
    finally:
        lead.close()


def test_a_leader_that_lost_its_connection_stops_before_the_next_batch(pg_server, team) -> None:
    heard: list[Event] = []
    lead = leadership(heard)
    try:
        assert lead.leads(team["support"])
        stop = lead.stop_for(team["support"], threading.Event())
        assert not stop.is_set()
        terminate(pg_server, lead.locks.backend_pid())
        assert stop.is_set()  # what the sync asks between batches
        lost = [e for e in heard if isinstance(e, LeadChanged) and not e.leading]
        assert len(lost) == 1 and "lost the lead of support" in lost[0].message
    finally:
        lead.close()


def test_taking_the_lead_tidies_what_the_killed_leader_left(team) -> None:
    conversation = Conversation.create(channel=team["support"], subject="Printer")
    items = {}
    for name, channel in team.items():
        message = Message.create(
            conversation=conversation,
            direction="out",
            dedup_key=f"k-{name}",
            raw_path="x",
            state="sending",
        )
        items[name] = Outbox.create(message=message, channel=channel, state="sending")
        JobRun.create(channel=channel, kind="poll")
    lead = leadership()
    try:
        assert lead.leads(team["support"])
    finally:
        lead.close()
    assert Outbox.get_by_id(items["support"].id).state == "queued"
    assert Outbox.get_by_id(items["billing"].id).state == "sending"  # not ours to touch
    runs = {r.channel.name: r for r in JobRun.select()}
    assert runs["support"].error == INTERRUPTED and runs["support"].finished_at is not None
    assert runs["billing"].finished_at is None


def test_the_lead_row_turns_stale_when_not_refreshed(team) -> None:
    leaders.took(team["support"], "kim-laptop", 42)
    later = utcnow() + leaders.STALE_AFTER * 2
    row = ChannelLead.get(ChannelLead.channel == team["support"].id)
    shown = leaders.describe(row, later)
    assert shown["state"] == "stale"
    assert leaders.in_words(shown).startswith("no leader (last: kim-laptop (pid 42)")
    assert leaders.describe(row)["state"] == "leading"


def test_on_a_team_desk_every_app_runs_its_own_worker(pg: str) -> None:
    """No desk-wide lock to defer to: the app's worker takes part in the election (and leads
    nothing without the secrets), even while a `deskterm poll` runs on the same machine."""
    from deskterm.engine.lock import worker_lock, worker_running

    assert connection.shared_database()
    with worker_lock():  # what an SQLite desk's `deskterm poll` would hold
        assert not worker_running()


@pytest.mark.sqlite_only("the SQLite desk's one worker and its file lock")
def test_an_sqlite_desk_keeps_its_one_worker_and_its_file_lock(desk: Desk) -> None:
    from deskterm.engine.lock import worker_lock, worker_running

    assert not connection.shared_database()
    assert connection.channel_locks() is None
    with worker_lock():
        assert worker_running()
