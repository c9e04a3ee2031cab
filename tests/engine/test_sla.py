"""SLA clocks on stored conversations, on SQLite and on the suite's real PostgreSQL: due times
set on ingest, moved by replies, status and priority, paused while pending, following the
policies in force; `conversations --json` and `show --json` carry them; the list sorts by
due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskterm.desk import list_index, queries, sla, triage
from deskterm.desk.sla_policies import Terms
from deskterm.errors import ConfigError
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.outbound import outbox, replies
from deskterm.store.db import utcnow
from deskterm.store.models import Channel, Conversation, Outbox, SlaPolicy
from tests.mailfactory import make_mail

HOUR = timedelta(hours=1)


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


_uids = iter(range(1, 10_000))


def arrives(
    channel: Channel,
    at: datetime,
    *,
    reply_to: str | None = None,
    sender: str = "Jane Doe <jane@customer.example>",
    high: bool = False,
) -> tuple[int, str]:
    """A customer's mail through the real ingest, arriving at `at`; (conversation, Message-ID)."""
    message_id = f"<m{next(_uids)}@customer.example>"
    headers = {"X-Priority": "1"} if high else None
    raw = make_mail(
        "Re: Printer on fire" if reply_to else "Printer on fire",
        sender,
        body="Smoke everywhere.\n",
        message_id=message_id,
        in_reply_to=reply_to,
        headers=headers,
    )
    ingestor = Ingestor(channel, clock=lambda: at)
    [outcome] = ingestor.apply([Fetched(str(next(_uids)), b"", parse(raw))])
    return outcome.conversation_id, message_id


def row(conversation_id: int) -> Conversation:
    return Conversation.get_by_id(conversation_id)


def close(a: datetime | None, b: datetime, slack: float = 5.0) -> bool:
    return a is not None and abs((a - b).total_seconds()) <= slack


def test_no_policy_no_due_time(channel: Channel) -> None:
    conversation, _ = arrives(channel, utcnow())
    assert row(conversation).due_at is None
    [listed] = queries.list_conversations()
    assert (listed["due_at"], listed["breached"]) == (None, False)


def test_ingest_sets_first_response_due(channel: Channel) -> None:
    sla.add_policy("standard", Terms(first_response="4h", resolution="24h", warn_before="30m"))
    start = utcnow() + timedelta(seconds=1)
    conversation, _ = arrives(channel, start)
    stored = row(conversation)
    assert stored.due_target == "first_response"
    assert close(stored.due_at, start + 4 * HOUR, 0.001)
    assert close(stored.warn_at, start + 4 * HOUR - timedelta(minutes=30), 0.001)
    assert stored.sla_alert_at == stored.warn_at
    [listed] = queries.list_conversations()
    assert listed["due_target"] == "first_response" and listed["breached"] is False
    detail = queries.conversation_detail(conversation)
    assert detail["due_at"] == listed["due_at"] and detail["breached"] is False


def test_the_clock_starts_at_arrival_not_at_an_old_date(channel: Channel) -> None:
    """A first sync of last week's mail does not start breached."""
    sla.add_policy("standard", Terms(first_response="1h"))
    raw = make_mail(
        "Old",
        "Jo <jo@customer.example>",
        body="x\n",
        message_id="<old@customer.example>",
        date=datetime(2020, 1, 6, 10, tzinfo=UTC),
    )
    arrival = utcnow() + timedelta(seconds=1)
    [outcome] = Ingestor(channel, clock=lambda: arrival).apply([Fetched("1", b"", parse(raw))])
    assert close(row(outcome.conversation_id).due_at, arrival + HOUR, 0.001)


def test_a_reply_meets_the_first_response_and_pending_pauses(channel: Channel) -> None:
    sla.add_policy("standard", Terms(first_response="1h", resolution="8h"))
    start = utcnow() + timedelta(seconds=1)
    conversation, mail_id = arrives(channel, start)
    replies.queue_reply(conversation, "On it.\n", status="pending")
    stored = row(conversation)
    assert stored.first_response_at is not None
    assert stored.status == "pending" and stored.due_at is None  # waiting for the customer
    assert stored.sla_paused_since is not None
    # The customer answers two hours later: the resolution clock resumes, 2h further out.
    arrives(channel, start + 2 * HOUR, reply_to=mail_id)
    stored = row(conversation)
    assert stored.status == "open" and stored.due_target == "resolution"
    assert close(stored.due_at, start + 8 * HOUR + 2 * HOUR)
    assert stored.sla_paused_since is None


def test_pending_runs_on_when_the_policy_does_not_pause(channel: Channel) -> None:
    sla.add_policy("strict", Terms(resolution="8h", pause_when_pending=False))
    start = utcnow() + timedelta(seconds=1)
    conversation, _ = arrives(channel, start)
    triage.set_status(conversation, "pending")
    assert close(row(conversation).due_at, start + 8 * HOUR, 0.001)


def test_resolved_stops_the_clock_and_reopening_keeps_what_was_used(channel: Channel) -> None:
    sla.add_policy("standard", Terms(resolution="8h"))
    start = utcnow() + timedelta(seconds=1)
    conversation, mail_id = arrives(channel, start)
    triage.set_status(conversation, "resolved")
    assert row(conversation).due_at is None
    arrives(channel, start + 24 * HOUR, reply_to=mail_id)  # reopened a day later
    assert close(row(conversation).due_at, start + 8 * HOUR + 24 * HOUR)


def test_priority_picks_the_most_specific_policy(channel: Channel) -> None:
    sla.add_policy("standard", Terms(first_response="8h"))
    sla.add_policy("urgent", Terms(priority="high", first_response="1h"))
    sla.add_policy(
        "support-urgent", Terms(priority="high", channel="support", first_response="30m")
    )
    start = utcnow() + timedelta(seconds=1)
    conversation, _ = arrives(channel, start)
    assert close(row(conversation).due_at, start + 8 * HOUR, 0.001)
    triage.set_priority(conversation, "high")
    stored = row(conversation)
    assert stored.sla_policy == SlaPolicy.get(SlaPolicy.name == "support-urgent").id
    assert close(stored.due_at, start + timedelta(minutes=30), 0.001)
    # A mail marked urgent by its sender is high from the start.
    urgent, _ = arrives(channel, start, sender="Kim <kim@customer.example>", high=True)
    assert row(urgent).priority == "high"
    assert close(row(urgent).due_at, start + timedelta(minutes=30), 0.001)


def test_a_type_policy_applies_to_conversations_of_that_type(channel: Channel) -> None:
    """`sla add --type`: refused for a type that does not exist; a conversation given the
    type is set by that policy at once, and loses it when the type goes."""
    from deskterm.desk import types

    with pytest.raises(ConfigError, match="no type 'incident'"):
        sla.add_policy("incidents", Terms(conversation_type="incident", first_response="15m"))
    types.add("incident")
    sla.add_policy("standard", Terms(first_response="8h"))
    sla.add_policy("incidents", Terms(conversation_type="incident", first_response="15m"))
    start = utcnow() + timedelta(seconds=1)
    conversation, _ = arrives(channel, start)
    assert close(row(conversation).due_at, start + 8 * HOUR, 0.001)
    types.set_type(conversation, "incident")
    assert row(conversation).sla_policy == SlaPolicy.get(SlaPolicy.name == "incidents").id
    assert close(row(conversation).due_at, start + timedelta(minutes=15), 0.001)
    types.set_type(conversation, None)
    assert close(row(conversation).due_at, start + 8 * HOUR, 0.001)
    # The batch path (after a policy change) reads the type too.
    Conversation.update(conversation_type=types.get("incident").id).where(
        Conversation.id == conversation
    ).execute()
    sla.refresh_all()
    assert row(conversation).sla_policy == SlaPolicy.get(SlaPolicy.name == "incidents").id


def test_same_coverage_is_refused(channel: Channel) -> None:
    sla.add_policy("urgent", Terms(priority="high", first_response="1h"))
    with pytest.raises(ConfigError, match="already covers"):
        sla.add_policy("urgent2", Terms(priority="high", first_response="2h"))
    with pytest.raises(ConfigError, match="needs a target"):
        sla.add_policy("empty", Terms())


def test_policy_changes_set_every_clock_and_count_from_the_policy(channel: Channel) -> None:
    """A policy added later counts from when it was made: old conversations are not all
    breached at once. Removing it clears the clocks."""
    old, _ = arrives(channel, utcnow() - 48 * HOUR)
    before = utcnow()
    sla.add_policy("standard", Terms(first_response="2h"))
    stored = row(old)
    assert stored.due_at is not None and stored.due_at >= before + 2 * HOUR - timedelta(seconds=1)
    sla.remove_policy("standard")
    assert row(old).due_at is None and row(old).sla_policy is None


def test_breached_shows_in_json(channel: Channel) -> None:
    sla.add_policy("standard", Terms(first_response="1h"))
    conversation, _ = arrives(channel, utcnow())
    Conversation.update(due_at=utcnow() - HOUR).where(Conversation.id == conversation).execute()
    [listed] = queries.list_conversations()
    assert listed["breached"] is True
    assert queries.conversation_detail(conversation)["breached"] is True


def test_list_sorts_by_due_time_with_no_target_last(channel: Channel) -> None:
    sla.add_policy("urgent", Terms(priority="high", first_response="1h"))
    start = utcnow() + timedelta(seconds=1)
    normal, _ = arrives(channel, start, sender="A <a@customer.example>")
    later, _ = arrives(channel, start + HOUR, sender="B <b@customer.example>", high=True)
    sooner, _ = arrives(channel, start, sender="C <c@customer.example>", high=True)
    assert list_index.conversation_ids(order="due") == [sooner, later, normal]
    rows = list_index.conversation_rows([sooner, normal])
    assert rows[0]["due_at"] is not None and rows[1]["due_at"] is None


def test_a_cancelled_reply_answers_nothing_and_a_retried_one_answers_again(
    channel: Channel,
) -> None:
    """A reply cancelled before it went out never reached the customer: the first-response
    target runs again (and the reports count the conversation unanswered); queued again, it
    is the first response once more."""
    sla.add_policy("standard", Terms(first_response="1h", resolution="8h"))
    conversation, _ = arrives(channel, utcnow() + timedelta(seconds=1))
    stored = replies.queue_reply(conversation, "On it.\n", status=None)  # stays open
    item = Outbox.get(Outbox.message == stored.id)
    assert row(conversation).due_target == "resolution"
    outbox.cancel(item.id)
    assert row(conversation).first_response_at is None
    assert row(conversation).due_target == "first_response"
    outbox.retry(item.id)
    assert close(row(conversation).first_response_at, stored.date)
    assert row(conversation).due_target == "resolution"
