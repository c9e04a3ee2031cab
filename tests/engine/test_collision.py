"""Collision warnings on a team desk, on SQLite and on the suite's real PostgreSQL: who else
has a conversation open (presence rows, stale ones ignored and swept), and a reply refused
when the conversation changed since it was started, until the agent sends anyway."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deskterm.desk import agents, presence
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.outbound import collision, drafts, forward, replies
from deskterm.store.db import utcnow
from deskterm.store.models import Agent, Channel, Conversation, Message, Outbox, Presence
from tests.mailfactory import make_mail

APP_A, APP_B = "host-a:101", "host-b:202"


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


_uids = iter(range(1, 10_000))


def arrives(channel: Channel, body: str, *, reply_to: str | None = None) -> int:
    """A customer's mail through the real ingest; returns its conversation's id."""
    raw = make_mail(
        "Re: Printer on fire" if reply_to else "Printer on fire",
        "Jane Doe <jane@customer.example>",
        body=body,
        message_id=f"<m{next(_uids)}@customer.example>",
        in_reply_to=reply_to,
    )
    [outcome] = Ingestor(channel).apply([Fetched(str(next(_uids)), b"", parse(raw))])
    return outcome.conversation_id


@pytest.fixture
def conversation(channel: Channel) -> int:
    return arrives(channel, "Smoke everywhere.\n")


def arrives_elsewhere() -> int:
    """A second conversation (another customer's first mail)."""
    return arrives(Channel.get(Channel.name == "support"), "Another question.\n")


@pytest.fixture
def kim() -> Agent:
    return agents.add("kim@desk.example", "Kim Lee", handle="kim")


@pytest.fixture
def sam() -> Agent:
    return agents.add("sam@desk.example", "Sam Berg", handle="sam")


def seen(conversation_id: int, session: str, now: datetime | None = None) -> list[tuple[str, str]]:
    return [(p.name, p.activity) for p in presence.others(conversation_id, session, now)]


# --- presence -------------------------------------------------------------------------------


def test_another_app_sees_who_is_replying_and_not_itself(
    conversation: int, kim: Agent, sam: Agent
) -> None:
    presence.enter(conversation, "replying", kim, APP_A)
    presence.enter(conversation, "viewing", sam, APP_B)
    assert seen(conversation, APP_B) == [("Kim Lee", "replying")]
    assert seen(conversation, APP_A) == [("Sam Berg", "viewing")]
    assert presence.sentence(presence.others(conversation, "host-c:1")) == (
        "Kim Lee is replying · Sam Berg is viewing"
    )
    assert presence.sentence(presence.others(conversation, "host-c:1"), ("replying",)) == (
        "Kim Lee is replying"
    )
    presence.enter(conversation, "viewing", kim, APP_A)  # the composer closed: one row still
    assert Presence.select().where(Presence.session == APP_A).count() == 1
    assert seen(conversation, APP_B) == [("Kim Lee", "viewing")]
    presence.leave(conversation, APP_A)
    assert seen(conversation, APP_B) == []
    assert seen(conversation, APP_A) == [("Sam Berg", "viewing")]


def test_a_row_not_refreshed_in_time_is_ignored_then_swept(
    conversation: int, kim: Agent, sam: Agent
) -> None:
    start = utcnow()
    presence.enter(conversation, "replying", kim, APP_A, now=start)  # this app is killed
    presence.enter(conversation, "viewing", sam, APP_B, now=start)
    later = start + presence.STALE_AFTER - timedelta(seconds=1)
    assert presence.refresh(APP_B, now=later) == 1  # only B keeps beating
    assert seen(conversation, APP_B, later) == [("Kim Lee", "replying")]
    gone = start + presence.STALE_AFTER + timedelta(seconds=1)
    assert seen(conversation, APP_B, gone) == []  # ignored before any sweep
    assert presence.sweep(now=gone) == 1
    assert [r.session for r in Presence.select()] == [APP_B]


def test_one_agent_in_two_terminals_is_named_once_as_replying(
    conversation: int, kim: Agent
) -> None:
    presence.enter(conversation, "viewing", kim, APP_A)
    presence.enter(conversation, "replying", kim, "host-a:102")
    assert seen(conversation, APP_B) == [("Kim Lee", "replying")]


def test_a_hostile_name_is_one_short_plain_line(conversation: int) -> None:
    hostile = "[@click=app.quit]\x1b]52;c;aGk=\x07Mal\nlory" * 5
    mallory = Agent.create(handle="mallory", name=hostile)
    presence.enter(conversation, "replying", mallory, APP_A)
    [someone] = presence.others(conversation, APP_B)
    assert "\x1b" not in someone.name and "\x07" not in someone.name
    assert "\n" not in someone.name and len(someone.name) == presence.NAME_CHARS
    assert someone.name.startswith("[@click=app.quit]")  # shown literally, as plain text


def test_the_tracker_keeps_one_row_as_strong_as_its_screens(
    conversation: int, kim: Agent, sam: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    mine = presence.Tracker(APP_A)
    thread = mine.open(conversation, "viewing")
    assert Presence.select().count() == 0  # open only records; the first beat writes
    presence.enter(conversation, "viewing", sam, APP_B)
    assert [(p.name, p.activity) for p in mine.beat(conversation)] == [("Sam Berg", "viewing")]
    assert seen(conversation, APP_B) == [("Kim Lee", "viewing")]
    composer = mine.open(conversation, "replying")
    mine.beat(conversation)
    assert seen(conversation, APP_B) == [("Kim Lee", "replying")]
    mine.close(composer)  # back in the thread: viewing again, at once
    assert seen(conversation, APP_B) == [("Kim Lee", "viewing")]
    mine.close(thread)
    assert seen(conversation, APP_B) == []
    mine.close(thread)  # twice: nothing more happens
    mine.beat(conversation)  # a beat after the close writes nothing back
    assert Presence.select().where(Presence.session == APP_A).count() == 0
    mine.open(conversation, "viewing")
    mine.open(arrives_elsewhere(), "replying")
    mine.beat(conversation)
    assert Presence.select().where(Presence.session == APP_A).count() == 2
    mine.close_all()  # the app quits with both open
    assert [r.session for r in Presence.select()] == [APP_B]
    mine.beat(conversation)
    assert [r.session for r in Presence.select()] == [APP_B]


def test_a_beat_writes_back_a_row_swept_while_the_app_slept(
    conversation: int, kim: Agent, sam: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    mine = presence.Tracker(APP_A)
    mine.open(conversation, "replying")
    start = utcnow()
    mine.beat(conversation, now=start)
    awake = start + presence.STALE_AFTER * 3
    presence.enter(conversation, "viewing", sam, APP_B, now=awake)
    presence.sweep(now=awake)  # another app swept our row while we were suspended
    assert seen(conversation, APP_B, awake) == []
    mine.beat(conversation, now=awake)
    assert seen(conversation, APP_B, awake) == [("Kim Lee", "replying")]


def test_without_an_agent_presence_writes_nothing_but_still_reads(
    conversation: int, sam: Agent
) -> None:
    assert agents.current() is None  # no DESKTERM_AGENT, no agent with our login
    mine = presence.Tracker(APP_A)
    visit = mine.open(conversation, "replying")
    presence.enter(conversation, "replying", sam, APP_B)
    assert [p.name for p in mine.beat(conversation)] == ["Sam Berg"]
    mine.close(visit)
    assert [r.session for r in Presence.select()] == [APP_B]


def test_this_session_is_the_host_and_the_process() -> None:
    import os
    import socket

    assert presence.this_session() == f"{socket.gethostname()}:{os.getpid()}"
    assert presence.Tracker().session == presence.this_session()


# --- a reply on a conversation that changed ---------------------------------------------------


def replies_of(conversation_id: int) -> list[str]:
    return [
        m.text
        for m in Message.select()
        .where(Message.conversation == conversation_id, Message.direction == "out")
        .order_by(Message.id)
    ]


def test_a_reply_on_an_unchanged_conversation_is_queued(conversation: int) -> None:
    start = collision.latest_message(conversation)
    assert start > 0
    replies.queue_reply(conversation, "We are on it.", seen_upto=start)
    assert replies_of(conversation) == ["We are on it."]


def test_a_new_customer_message_stops_the_reply_until_sent_anyway(
    channel: Channel, conversation: int
) -> None:
    start = collision.latest_message(conversation)
    first = Message.get(Message.conversation == conversation)
    same = arrives(
        channel,
        "> Smoke everywhere.\n\nNow the fire brigade is here.\nSecond line.\n\nThird.\nFourth.\n",
        reply_to=first.message_id,
    )
    assert same == conversation
    count = Conversation.get_by_id(conversation).message_count
    with pytest.raises(collision.ChangedSince) as caught:
        replies.queue_reply(conversation, "We are on it.", seen_upto=start)
    [change] = caught.value.changes
    assert (change.kind, change.who) == ("message", "Jane Doe")
    assert change.lines == ("Now the fire brigade is here.", "Second line.", "Third.")
    assert change.when is not None and abs(change.when - utcnow()) < timedelta(minutes=1)
    assert change.headline() == "A new message from Jane Doe"
    assert caught.value.newest == collision.latest_message(conversation) == change.message_id
    assert str(caught.value) == (
        f"Conversation #{conversation} changed since the reply was started (a new message "
        f"from Jane Doe); read it with `deskterm show {conversation}`, then reply again with "
        f"--seen '{change.mail_id}' to send anyway."
    )
    assert collision.seen_upto_of(conversation, change.mail_id or "") == change.message_id
    assert replies_of(conversation) == [] and Outbox.select().count() == 0
    assert Conversation.get_by_id(conversation).message_count == count
    # Sent anyway: from what the agent was shown, so only later changes stop it again.
    replies.queue_reply(conversation, "We are on it.", seen_upto=caught.value.newest)
    assert replies_of(conversation) == ["We are on it."]


def test_another_agents_reply_is_a_change_and_an_acknowledgement_is_not(
    conversation: int,
) -> None:
    start = collision.latest_message(conversation)
    ack = replies.queue_reply(conversation, "We got your mail.", status=None, automatic=True)
    replies.queue_reply(conversation, "Kim here: the brigade is on its way.")
    with pytest.raises(collision.ChangedSince) as caught:
        replies.queue_reply(conversation, "Sam here: we are on it.", seen_upto=start)
    assert [(c.kind, c.who, c.lines) for c in caught.value.changes] == [
        ("reply", "Desk Support", ("Kim here: the brigade is on its way.",))
    ]
    assert ack.id not in [c.message_id for c in caught.value.changes]
    assert collision.changes_since(conversation, caught.value.newest) == []


def test_a_draft_that_meets_a_change_is_kept(channel: Channel, conversation: int) -> None:
    start = collision.latest_message(conversation)
    draft = drafts.Draft(conversation, body="We are on it.")
    drafts.save(draft)
    arrives(channel, "A second mail.\n")  # another conversation: no change for this one
    arrives(channel, "More smoke.\n", reply_to=Message.get_by_id(start).message_id)
    with pytest.raises(collision.ChangedSince):
        drafts.send(draft, seen_upto=start)
    assert drafts.load(conversation).body == "We are on it."
    queued = drafts.send(draft, seen_upto=collision.latest_message(conversation))
    assert queued.conversation_id == conversation and not drafts.exists(conversation)


def test_without_a_starting_point_nothing_is_checked(channel: Channel, conversation: int) -> None:
    start = collision.latest_message(conversation)
    arrives(channel, "More smoke.\n", reply_to=Message.get_by_id(start).message_id)
    replies.queue_reply(conversation, "As before: no check.")  # the CLI today, and acks
    assert replies_of(conversation) == ["As before: no check."]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", ()),
        ("\n\n> quoted\n>> more\n", ()),
        ("Hi\x1b[2J there\r\n\u202eevil\n", ("Hi[2J there", "evil")),
        ("x" * 500, ("x" * (collision.PREVIEW_CHARS - 1) + "…",)),
    ],
)
def test_the_first_lines_are_plain_short_and_skip_the_quote(
    text: str, lines: tuple[str, ...]
) -> None:
    assert collision.first_lines(text) == lines


def test_what_another_writer_changed_while_the_reply_was_built_is_kept(
    conversation: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply used to save the whole conversation row it had loaded: an assignment (or a
    message counted) by another agent or the worker meanwhile was written back over."""
    before = Conversation.get_by_id(conversation).message_count
    build = replies.compose.build

    def build_while_another_agent_writes(reply):  # between the reply's read and its write
        Conversation.update(assignee="kim", message_count=Conversation.message_count + 1).where(
            Conversation.id == conversation
        ).execute()
        return build(reply)

    monkeypatch.setattr(replies.compose, "build", build_while_another_agent_writes)
    replies.queue_reply(conversation, "We are on it.")
    after = Conversation.get_by_id(conversation)
    assert after.assignee == "kim"
    assert after.message_count == before + 2


def test_a_forward_keeps_what_another_writer_changed_meanwhile(
    conversation: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forward, too, used to save the conversation row it had read before building."""
    before = Conversation.get_by_id(conversation).message_count
    first = Message.get(Message.conversation == conversation)
    build = forward.compose.build

    def build_while_another_agent_writes(reply):
        Conversation.update(assignee="kim", message_count=Conversation.message_count + 1).where(
            Conversation.id == conversation
        ).execute()
        return build(reply)

    monkeypatch.setattr(forward.compose, "build", build_while_another_agent_writes)
    forward.queue_forward(first.id, "accounts@desk.example")
    after = Conversation.get_by_id(conversation)
    assert (after.assignee, after.message_count) == ("kim", before + 2)
