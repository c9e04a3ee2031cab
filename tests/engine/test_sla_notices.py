"""SLA warnings and breach notices mailed by the worker through the suite's real Postfix to
its real Dovecot, on SQLite and PostgreSQL: once per target, to the assignee or the team
address, from the `sla_warning` template; a worker killed after claiming one sends it at its
restart, and one killed while the SMTP server took it never sends it twice. On a team desk
one worker at a time holds the duty."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest

from deskterm.desk import agents, sla, triage
from deskterm.desk.sla_policies import Terms
from deskterm.engine.leadership import ChannelLeads
from deskterm.engine.worker import Worker
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.outbound import replies, sla_notices
from deskterm.store import connection
from deskterm.store.advisory import AdvisoryLocks
from deskterm.store.db import utcnow
from deskterm.store.models import Channel, Conversation, SlaNotice, SlaPolicy, Template
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.mailfactory import make_mail

SINK = "sink@desk.test"  # the suite's Postfix delivers every other domain's mail here
MINUTE = timedelta(minutes=1)


@pytest.fixture
def channel(engine: str, desk: Desk, boxes: Any, monkeypatch: pytest.MonkeyPatch) -> Channel:
    # The desk's own SMTP account (README, system notifications), as an admin sets it.
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(boxes.smtps_port))
    monkeypatch.setenv("SMTP_SECURE", "ssl")
    monkeypatch.setenv("SMTP_USER", "support@desk.test")
    monkeypatch.setenv("SMTP_PASS", boxes.users["support@desk.test"])
    monkeypatch.setenv("SMTP_CA_FILE", str(boxes.cert_file))
    monkeypatch.setenv("SMTP_FROM", "Acme Desk <support@desk.test>")
    monkeypatch.setenv("DESKTERM_NOTIFY_TO", "team@team.example")
    desk.add_channel(DRAFT_CHANNEL)
    connection.open_database()
    agents.add("kim@team.example", "Kim Lee", handle="kim")
    return Channel.get(Channel.name == "support")


def conversation_waiting(channel: Channel, minutes: int, subject: str = "Printer on fire") -> int:
    """A conversation that arrived `minutes` ago under a policy that already existed then:
    first response in 60 minutes, warned 30 minutes before."""
    if not SlaPolicy.select().exists():
        sla.add_policy("standard", Terms(first_response="1h", warn_before="30m"))
        SlaPolicy.update(created_at=utcnow() - timedelta(days=1)).execute()
    arrived = utcnow() - minutes * MINUTE
    raw = make_mail(subject, "Jane Doe <jane@customer.example>", message_id=None)
    ingestor = Ingestor(channel, clock=lambda: arrived)
    [outcome] = ingestor.apply([Fetched(subject, b"", parse(raw))])
    return outcome.conversation_id


def text(raw: bytes) -> tuple[str, str, str]:
    message = message_from_bytes(raw)
    subject = str(make_header(decode_header(message["Subject"])))
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    return str(message["To"]), subject, body


def marker(boxes: Any, expected: int) -> list[bytes]:
    """Everything at the sink once a last notice (the marker) has arrived after the others:
    a duplicate sent before it would be there too."""
    agents.add("marker@team.example", "Marker", handle="marker")
    last = conversation_waiting(Channel.get(Channel.name == "support"), 50, "Marker")
    triage.assign(last, "marker")
    sla_notices.run_pass()
    found = boxes.wait_for_messages(SINK, expected + 1)
    assert "Marker" in text(found[-1])[1]
    return found[:-1]


def test_warning_then_breach_notice_once_each_to_the_assignee(channel: Channel, boxes: Any) -> None:
    conversation = conversation_waiting(channel, 40)  # due in 20 minutes: inside the warning
    triage.assign(conversation, "kim")
    worker = Worker()
    assert worker.sla_pass() == 1
    [raw] = boxes.wait_for_messages(SINK, 1)
    to, subject, body = text(raw)
    assert to == "Kim Lee <kim@team.example>"
    assert subject == f"SLA due soon: #{conversation} first response - Printer on fire"
    assert "Hello Kim Lee," in body and "is due soon: its first response" in body
    assert worker.sla_pass() == 0  # told once; next look at the due time
    assert (
        Conversation.get_by_id(conversation).sla_alert_at
        == Conversation.get_by_id(conversation).due_at
    )
    # Twenty minutes on, the target is breached: one notice, and never again.
    later = utcnow() + 21 * MINUTE
    assert sla_notices.run_pass(later) == 1
    assert sla_notices.run_pass(later + MINUTE) == 0
    assert Conversation.get_by_id(conversation).sla_alert_at is None
    _warning, second = marker(boxes, 2)
    assert "SLA breached" in text(second)[1] and "is breached" in text(second)[2]
    states = {
        (n.kind, n.state) for n in SlaNotice.select().where(SlaNotice.conversation == conversation)
    }
    assert states == {("warning", "sent"), ("breach", "sent")}


def test_unassigned_goes_to_the_team_and_a_late_worker_sends_only_the_breach(
    channel: Channel, boxes: Any
) -> None:
    conversation = conversation_waiting(channel, 90)  # breached half an hour ago
    # The admin's own text, with the SLA's variables.
    Template.create(name="sla_warning", body="#$conversation_id $sla_state ($sla_target, $due_at)")
    assert sla_notices.run_pass() == 1
    [raw] = boxes.wait_for_messages(SINK, 1)
    to, _subject, body = text(raw)
    assert to == "the team <team@team.example>"
    assert body.startswith(f"#{conversation} is breached (first response, ")
    assert [n.kind for n in SlaNotice.select()] == ["breach"]


def test_a_reply_moves_the_clock_to_resolution_with_its_own_notices(
    channel: Channel, boxes: Any
) -> None:
    sla.add_policy("standard", Terms(first_response="1h", resolution="2h", warn_before="30m"))
    SlaPolicy.update(created_at=utcnow() - timedelta(days=1)).execute()
    conversation = conversation_waiting(channel, 90)
    sla_notices.run_pass()
    replies.queue_reply(conversation, "Looking into it.\n", status="resolved")
    triage.set_status(conversation, "open")  # reopened: the resolution clock runs
    stored = Conversation.get_by_id(conversation)
    assert stored.due_target == "resolution"
    assert sla_notices.run_pass(stored.due_at + MINUTE) == 1
    kinds = sorted((n.target, n.kind) for n in SlaNotice.select())
    assert kinds == [("first_response", "breach"), ("resolution", "breach")]
    boxes.wait_for_messages(SINK, 2)


_KILL_AFTER_CLAIM = """
import os, signal
from deskterm.store import connection
from deskterm.outbound import sla_notices
from deskterm.store.db import utcnow
connection.open_database()
sla_notices.claim_due(utcnow())
os.kill(os.getpid(), signal.SIGKILL)
"""

_KILL_DURING_DATA = """
import os, signal
import aiosmtplib
from deskterm.store import connection
from deskterm.outbound import sla_notices

async def killed(self, message, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # the server has the envelope, not the message

aiosmtplib.SMTP.data = killed
connection.open_database()
sla_notices.run_pass()
"""


def killed_worker(script: str) -> None:
    connection.close_database()  # the child writes; this process reads afresh after
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()
    connection.open_database()


def test_a_worker_killed_after_claiming_sends_it_at_restart_once(
    channel: Channel, boxes: Any
) -> None:
    conversation = conversation_waiting(channel, 40)
    triage.assign(conversation, "kim")
    killed_worker(_KILL_AFTER_CLAIM)
    [notice] = SlaNotice.select()
    assert notice.state == "queued"  # claimed and committed; nothing went on the wire
    restarted = Worker()
    assert restarted.sla_pass() == 1
    assert restarted.sla_pass() == 0
    [raw] = marker(boxes, 1)
    assert text(raw)[0] == "Kim Lee <kim@team.example>"


def test_a_worker_killed_while_the_server_took_it_never_sends_it_twice(
    channel: Channel, boxes: Any
) -> None:
    conversation = conversation_waiting(channel, 40)
    killed_worker(_KILL_DURING_DATA)
    [notice] = SlaNotice.select()
    assert notice.state == "sending"
    restarted = Worker()
    restarted.sla_pass()
    notice = SlaNotice.get_by_id(notice.id)
    assert notice.state == "failed" and "may not have arrived" in notice.error
    assert marker(boxes, 0) == []  # nothing from the killed worker, nothing sent again
    assert conversation


@pytest.mark.postgres
def test_on_a_team_desk_one_worker_holds_the_sla_duty(
    pg: str, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    connection.open_database()
    first, second = AdvisoryLocks(pg), AdvisoryLocks(pg)
    events: list[object] = []
    a = ChannelLeads(first, lambda: None, events.append)
    b = ChannelLeads(second, lambda: None, events.append)
    try:
        assert a.sends_sla_notices() and not b.sends_sla_notices()
        assert a.sends_sla_notices()  # still, asked again
        a.close()  # the holder stops: the other takes the duty at its next ask
        assert b.sends_sla_notices()
    finally:
        b.close()
    monkeypatch.delenv("SMTP_HOST")
    other = ChannelLeads(AdvisoryLocks(pg), lambda: None, events.append)
    assert not other.sends_sla_notices()  # no SMTP server here: it never takes the duty
    other.close()
