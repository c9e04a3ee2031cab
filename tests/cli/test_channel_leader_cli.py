"""Which worker leads each channel, as `deskterm channel list` and `channel show` say it.

On a team desk (the suite's PostgreSQL): a worker that took the lead is named with its host
and pid, a leader not heard from for a while is shown as stale, a desk without one says so,
and a host name written by another machine reaches the terminal only sanitised.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest

from deskterm.channels import leaders
from deskterm.engine.leadership import ChannelLeads
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import Channel, ChannelLead, Conversation, JobRun, Message, Outbox
from tests.conftest import Desk
from tests.engine.test_channel_leads import ACTIVE

pytestmark = pytest.mark.postgres


@pytest.fixture
def team(desk: Desk, pg: str) -> Desk:
    desk.add_channel(ACTIVE.format(name="support"), inbound="pw-in", outbound="pw-out")
    return desk


def test_the_leading_worker_is_named_and_no_leader_once_it_ends(team: Desk) -> None:
    assert team.json("channel", "show", "support")["leader"]["state"] == "none"
    connection.open_database()
    locks = connection.channel_locks()
    assert locks is not None
    store = open_secret_store()
    lead = ChannelLeads(locks, lambda: store, lambda event: None)
    try:
        assert lead.leads(Channel.get(Channel.name == "support"))
        [listed] = team.json("channel", "list")
        assert listed["leader"]["state"] == "leading"
        assert (listed["leader"]["host"], listed["leader"]["pid"]) == (
            socket.gethostname(),
            os.getpid(),
        )
        shown = team.run("channel", "list").stdout
        assert f"led by: {socket.gethostname()} (pid {os.getpid()}) since " in shown
    finally:
        lead.close()
    assert team.json("channel", "show", "support")["leader"]["state"] == "none"
    assert "led by: no leader" in team.run("channel", "list").stdout


def test_a_leader_not_heard_from_is_stale_and_its_host_is_sanitised(team: Desk) -> None:
    connection.open_database()
    channel = Channel.get(Channel.name == "support")
    leaders.took(channel, "evil\x1b]52;c;aGk=\x07host", 99)
    old = ChannelLead.get().seen_at - leaders.STALE_AFTER - timedelta(seconds=1)
    ChannelLead.update(seen_at=old).execute()
    connection.close_database()
    shown = team.json("channel", "show", "support")["leader"]
    assert (shown["state"], shown["pid"]) == ("stale", 99)
    text = team.run("channel", "show", "support").stdout + team.run("channel", "list").stdout
    assert "\x1b" not in text and "\x07" not in text
    assert (
        "no leader (last: evil]52;c;aGk=host (pid 99), not seen since"
        in team.run("channel", "list").stdout
    )


def test_poll_once_and_send_leave_a_channel_another_worker_leads_alone(team: Desk) -> None:
    """`deskterm poll --once` and `deskterm send` on a machine where another worker leads the
    channel: nothing is fetched or sent from here (the channel's host is never contacted),
    each says who leads it, and the reply stays queued for the leader."""
    connection.open_database()
    channel = Channel.get(Channel.name == "support")
    conversation = Conversation.create(channel=channel, subject="Printer")
    message = Message.create(
        conversation=conversation, direction="out", dedup_key="k", raw_path="x"
    )
    item = Outbox.create(message=message, channel=channel)
    locks = connection.channel_locks()
    assert locks is not None
    store = open_secret_store()
    other = ChannelLeads(locks, lambda: store, lambda event: None)  # "another machine"
    try:
        assert other.leads(channel)
        connection.close_database()
        polled = team.run("poll", "--once")
        assert "support: another worker leads it: " in polled.stderr
        sent = team.run("send", "--now")
        assert f"support: not sent from here: another worker leads it: {socket.gethostname()}" in (
            sent.stdout
        )
        assert "Nothing to send." in sent.stdout
    finally:
        other.close()
    connection.open_database()
    assert Outbox.get_by_id(item.id).state == "queued"
    assert JobRun.select().count() == 0  # no poll, no send was run from here
