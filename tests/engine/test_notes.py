"""Internal notes and mentions (issue 15), on SQLite and on the suite's real PostgreSQL.

A note is for agents only: stored cleaned, shown among the messages in time order, never in
a mail the desk sends (reply, its quote, a forward). `@handle` mentions an existing agent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from deskterm.desk import agents, list_index, notes, queries
from deskterm.errors import ConfigError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.outbound import forward, replies
from deskterm.store import blobs
from deskterm.store.models import Agent, Channel, Conversation, Mention, Message, Note
from tests.mailfactory import make_mail

SECRET = "the customer owes us 3 invoices, do not mention it"


def fetched(*mails: bytes, first_uid: int = 1) -> list[Fetched]:
    return [Fetched(str(uid), b"", parse(raw)) for uid, raw in enumerate(mails, first_uid)]


def question() -> bytes:
    return make_mail(
        "Printer on fire",
        "Jane Doe <jane@customer.example>",
        body="Smoke everywhere.\n",
        message_id="<p1@customer.example>",
        date=datetime(2025, 3, 3, 9, tzinfo=UTC),
    )


def follow_up() -> bytes:
    return make_mail(
        "Re: Printer on fire",
        "Jane Doe <jane@customer.example>",
        body="Still burning.\n",
        message_id="<p2@customer.example>",
        in_reply_to="<p1@customer.example>",
        date=datetime(2025, 3, 5, 9, tzinfo=UTC),
    )


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


@pytest.fixture
def printer(channel: Channel) -> int:
    [outcome] = Ingestor(channel).apply(fetched(question()))
    assert outcome.conversation_id is not None
    return outcome.conversation_id


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> dict[str, Agent]:
    """Three agents; Kim is at the keyboard."""
    found = {
        "kim": agents.add("kim@desk.example", "Kim Lee", handle="kim"),
        "sam": agents.add("sam@desk.example", "Sam Roe", handle="sam"),
        "alex": agents.add("alex@desk.example", "Alex Poe", handle="alex.p"),
    }
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    return found


def mentioned_in(note: Note) -> list[str]:
    return sorted(m.agent.handle for m in Mention.select().where(Mention.note == note.id))


def test_a_note_is_stored_cleaned_by_the_agent_at_the_keyboard(
    printer: int, team: dict[str, Agent]
) -> None:
    note = notes.add(printer, "  Called her:\x1b]52;c;aGk=\x07 \u202eboss\u202c\r\nback at 3\t \n")
    stored = Note.get_by_id(note.id)
    assert stored.text == "Called her:]52;c;aGk= boss\nback at 3"
    assert stored.author_id == team["kim"].id
    assert stored.conversation_id == printer


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("", "The note is empty"),
        (" \n\t ", "The note is empty"),
        ("\x1b\x07\u200e", "The note is empty"),  # nothing left once cleaned
        ("x" * (notes.MAX_CHARS + 1), "keep it under 10,000"),
    ],
)
def test_an_empty_or_too_long_note_is_refused_and_nothing_stored(
    printer: int, text: str, refused: str
) -> None:
    with pytest.raises(ConfigError, match=refused):
        notes.add(printer, text)
    assert Note.select().count() == 0


def test_a_note_on_no_conversation_is_refused(printer: int) -> None:
    with pytest.raises(NotFound, match="There is no conversation #999"):
        notes.add(999, "hello")
    assert Note.select().count() == 0


def test_at_handles_of_existing_agents_in_any_case_are_mentions(
    printer: int, team: dict[str, Agent]
) -> None:
    note = notes.add(
        printer,
        "@SAM, can you check? Ask @alex.p. (or @nobody), not sam@desk.example; "
        "@kim is me, and @Sam again.",
    )
    # An unknown @word and an address stay text; the author mentioning themselves is no
    # mention; trailing punctuation and a second mention change nothing.
    assert mentioned_in(note) == ["alex.p", "sam"]
    assert "@nobody" in note.text


def test_a_note_on_a_desk_without_agents_has_no_author_and_mentions_nobody(
    printer: int,
) -> None:
    note = notes.add(printer, "note to self @me")
    assert note.author_id is None and mentioned_in(note) == []
    shown_all = queries.conversation_detail(printer)["messages"]
    [shown] = [m for m in shown_all if m["direction"] == "note"]
    assert shown["author"] is None and shown["author_name"] is None


def test_notes_are_among_the_messages_in_time_order(
    channel: Channel, printer: int, team: dict[str, Agent]
) -> None:
    first = notes.add(printer, "Asked the technician.")
    Ingestor(channel).apply(fetched(follow_up(), first_uid=2))
    second = notes.add(printer, "Technician is on the way, @sam")
    shown = queries.conversation_detail(printer)["messages"]
    assert [m["direction"] for m in shown] == ["in", "note", "in", "note"]
    assert shown[1] == {
        "direction": "note",
        "id": first.id,
        "author": "kim",
        "author_name": "Kim Lee",
        "date": shown[1]["date"],
        "text": "Asked the technician.",
    }
    assert shown[1]["date"].endswith("+00:00")
    assert shown[3]["id"] == second.id and shown[3]["text"].endswith("@sam")


def test_a_note_does_not_move_the_conversation_in_the_list(
    printer: int, team: dict[str, Agent]
) -> None:
    before = Conversation.get_by_id(printer).updated_at
    notes.add(printer, "internal remark")
    assert Conversation.get_by_id(printer).updated_at == before


def test_an_agents_mentions_unseen_first_and_seen_once_they_open_the_conversation(
    channel: Channel, printer: int, team: dict[str, Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    [other] = Ingestor(channel).apply(
        fetched(make_mail("Kettle broken", "Bob <bob@other.example>"), first_uid=5)
    )
    kettle = other.conversation_id
    assert kettle is not None
    older = notes.add(printer, "@sam please look")
    newer = notes.add(kettle, "@sam and this one")
    notes.add(kettle, "@alex.p only")
    sam = team["sam"]
    listed = notes.mentions(sam)
    assert [m["note"]["id"] for m in listed] == [newer.id, older.id]  # newest first
    assert listed[0]["conversation"] == {
        "id": kettle,
        "subject": "Kettle broken",
        "status": "open",
    }
    assert listed[0]["note"]["author"] == "kim" and not listed[0]["seen"]
    assert notes.unseen_count(sam) == 2

    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    assert notes.opened(kettle) == 1
    assert notes.opened(kettle) == 0
    assert [m["note"]["id"] for m in notes.mentions(sam)] == [older.id]
    everything = notes.mentions(sam, include_seen=True)
    assert [(m["note"]["id"], m["seen"]) for m in everything] == [
        (older.id, False),  # unseen first
        (newer.id, True),
    ]
    assert notes.unseen_count(team["alex"]) == 1  # Sam opening it marks only Sam's


def test_opening_a_conversation_with_an_unknown_agent_or_none_marks_nothing(
    printer: int, team: dict[str, Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    notes.add(printer, "@sam look")
    monkeypatch.setenv("DESKTERM_AGENT", "nobody")
    assert notes.opened(printer) == 0  # reading the thread must not fail for it
    with pytest.raises(NotFound, match="No agent is called 'nobody'"):
        notes.add(printer, "hi")
    assert notes.unseen_count(team["sam"]) == 1


def test_whose_mentions_without_an_agent_at_the_keyboard_says_how_to_set_one(
    printer: int,
) -> None:
    with pytest.raises(NotFound, match="set DESKTERM_AGENT to your handle"):
        notes.who()


def test_deleting_a_conversation_takes_its_notes_and_mentions(
    printer: int, team: dict[str, Agent]
) -> None:
    notes.add(printer, "@sam look")
    Conversation.delete_by_id(printer)
    assert Note.select().count() == 0 and Mention.select().count() == 0


def test_no_note_reaches_a_reply_its_quote_or_a_forward(
    channel: Channel, printer: int, team: dict[str, Agent]
) -> None:
    """Notes live apart from mail: the reply queued after one, the quote the channel puts
    below it (quote_previous, on by default) and a forward carry none of its text."""
    notes.add(printer, SECRET)
    [answered] = Message.select().where(Message.conversation == printer)
    reply = replies.queue_reply(printer, "We are sending a technician.")
    forwarded = forward.queue_forward(answered.id, "colleague@desk.example")
    for sent in (reply, forwarded):
        raw = blobs.read_raw(sent.raw_path)
        assert SECRET.encode() not in raw
        mail = message_from_bytes(raw, policy=policy.default)
        texts = [
            part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"
        ]
        assert texts and not any(SECRET in text for text in texts)
        assert SECRET not in sent.text
    reply_text = message_from_bytes(blobs.read_raw(reply.raw_path), policy=policy.default)
    plain = reply_text.get_body(("plain",))
    assert plain is not None and "> Smoke everywhere." in plain.get_content()  # quoted: mail


def test_the_lists_search_finds_a_conversation_by_its_notes(
    channel: Channel, printer: int, team: dict[str, Agent]
) -> None:
    """Every word searched in one note, as the mail's search wants every word; the list's
    quick first rows (searched within a window) find it too."""
    [other] = Ingestor(channel).apply(
        fetched(make_mail("Kettle broken", "Bob <bob@other.example>"), first_uid=5)
    )
    notes.add(printer, "Toner vendor is Zanzibar Supplies")
    notes.add(other.conversation_id, "zanzibar only")
    assert list_index.conversation_ids("all", search="ZANZIBAR supplies") == [printer]
    head = list_index.first_conversation_ids(1, "all", search="zanzibar supp")
    assert head == [printer]  # both engines give quick first rows
    assert [r["id"] for r in queries.list_conversations("all", search="vendor")] == [printer]
    assert list_index.conversation_ids("all", search="zanzibar") == [
        other.conversation_id,
        printer,
    ]
    assert list_index.conversation_ids("all", search="nowhere") == []
