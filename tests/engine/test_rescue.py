"""Skipped mail "ingest anyway" (issue 14): a real customer's mail that a filter set aside (their
client sets Auto-Submitted) becomes a message through the normal ingest path: threaded, its
sender a contact, no acknowledgement; its skipped row goes, so every fetched mail still ends
as exactly one message or one skipped row. Rows whose raw message was not kept say why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskterm.errors import DeskError
from deskterm.inbound import rescue
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.parse_guard import KILLED
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import blobs, connection
from deskterm.store.models import Channel, Contact, Message, Outbox, SkippedMail
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.mailfactory import make_mail

JANE = "Jane Doe <jane@customer.example>"
AUTO = {"Auto-Submitted": "auto-generated"}  # her mail client's doing, not a robot's


@pytest.fixture
def channel(desk: Desk, tmp_path: Path) -> Channel:
    """A channel that acknowledges new conversations (so a rescue that sent one would show)."""
    desk.add_channel(DRAFT_CHANNEL + 'auto_ack_template = "ack"\n')
    template = tmp_path / "ack.txt"
    template.write_text("We got your mail about $subject.\n")
    desk.run("template", "add", "ack", "--file", str(template))
    connection.open_database()
    return Channel.get(Channel.name == "support")


def fetch(channel: Channel, raw: bytes, uid: str, *, keep: bool = True) -> str:
    """Apply one fetched mail as IMAP sync does (INBOX, UIDVALIDITY 7); its outcome's kind."""
    ref = blobs.store_raw(raw) if keep else None
    [outcome] = Ingestor(channel).apply([Fetched(uid, b"", parse(raw), raw_path=ref)], "INBOX", "7")
    return outcome.kind


def skipped_row() -> SkippedMail:
    return SkippedMail.select().order_by(SkippedMail.id.desc()).get()


def test_a_false_positive_is_threaded_with_no_acknowledgement(channel: Channel) -> None:
    first = make_mail("Printer on fire", JANE, message_id="<p1@customer.example>")
    assert fetch(channel, first, "1") == "ingested"
    assert Outbox.select().count() == 1  # the first mail was acknowledged
    answer = make_mail(
        "Re: Printer on fire",
        JANE,
        message_id="<p2@customer.example>",
        in_reply_to="<p1@customer.example>",
        headers=AUTO,
    )
    assert fetch(channel, answer, "2") == "skipped"
    row = skipped_row()
    assert row.reason.startswith("auto-submitted")

    done = rescue.rescue(row.id)
    message = Message.get_by_id(done.message_id)
    assert (
        message.conversation_id
        == Message.get(Message.message_id == "<p1@customer.example>").conversation_id
    )
    assert message.notes["rescued_from"] == row.reason
    assert message.source == row.source  # the fetch's identity passes to the message
    assert SkippedMail.select().count() == 0  # exactly one place: the message
    assert Outbox.select().count() == 1  # no acknowledgement for the rescued mail
    assert fetch(channel, answer, "2") == "skipped"  # fetched again: on record, nothing new
    incoming = Message.select().where(Message.direction == "in")
    assert incoming.count() == 2 and SkippedMail.select().count() == 0


def test_a_new_conversation_gets_its_contact_and_no_acknowledgement(channel: Channel) -> None:
    mail = make_mail("Invoice question", "Bob <bob@other.example>", headers=AUTO)
    assert fetch(channel, mail, "3") == "skipped"
    done = rescue.rescue(skipped_row().id)
    assert Message.get_by_id(done.message_id).conversation.contact.email == "bob@other.example"
    assert Contact.get(Contact.email == "bob@other.example")
    assert Outbox.select().count() == 0


def test_rows_without_their_raw_message_or_duplicates_say_why_not(channel: Channel) -> None:
    mail = make_mail("Out of office", JANE, headers=AUTO)
    assert fetch(channel, mail, "4", keep=False) == "skipped"
    row = skipped_row()
    with pytest.raises(DeskError, match="its raw message was not kept"):
        rescue.rescue(row.id)
    assert SkippedMail.get_by_id(row.id)  # still listed
    plain = make_mail("Hello", JANE, message_id="<h@customer.example>")
    assert fetch(channel, plain, "5") == "ingested"
    assert fetch(channel, plain, "6") == "skipped"  # another copy: a duplicate
    with pytest.raises(DeskError, match="is a copy of message"):
        rescue.rescue(skipped_row().id)
    with pytest.raises(DeskError, match="There is no skipped mail 999"):
        rescue.rescue(999)


def test_a_mail_that_killed_the_parser_is_not_parsed_by_the_desk(channel: Channel) -> None:
    """Set aside by the parse guard, it is kept whole; parsed again here, it would take the
    desk (the UI or the CLI) down as it took the parsing process twice."""
    ref = blobs.store_raw(make_mail("Deadly", JANE))
    [outcome] = Ingestor(channel).apply(
        [Fetched("8", b"", None, KILLED, raw_path=ref)], "INBOX", "7"
    )
    assert outcome.kind == "failed"
    row = skipped_row()
    with pytest.raises(DeskError, match="died on it twice"):
        rescue.rescue(row.id)
    assert SkippedMail.get_by_id(row.id).reason == KILLED  # still listed
    assert Message.select().count() == 0


def test_a_rescue_that_ingest_refuses_leaves_the_row_listed(channel: Channel) -> None:
    """The same mail stored since under another fetch: ingest says duplicate, and the row
    deleted in the rescue's transaction comes back (still exactly one place each)."""
    mail = make_mail("Ping", JANE, headers=AUTO)
    assert fetch(channel, mail, "9") == "skipped"
    row = skipped_row()
    copy = Fetched("10", b"", parse(mail), raw_path=blobs.store_raw(mail))
    [outcome] = Ingestor(channel, passed=True).apply([copy], "INBOX", "7")
    with pytest.raises(DeskError, match=f"message {outcome.message_id} holds the same mail"):
        rescue.rescue(row.id)
    assert SkippedMail.get_by_id(row.id).source == row.source
    assert Message.select().where(Message.direction == "in").count() == 1


def test_the_cli_ingests_a_skipped_mail_and_says_where_it_went(
    channel: Channel, desk: Desk
) -> None:
    mail = make_mail("Broken login", JANE, headers=AUTO)
    assert fetch(channel, mail, "7") == "skipped"
    row_id = skipped_row().id
    connection.close_database()
    [listed] = desk.json("skipped")
    assert listed["id"] == row_id
    result = desk.run("skipped", "ingest", str(row_id))
    assert f"Skipped mail {row_id} ingested" in result.stdout
    assert desk.json("skipped") == []
    assert len(desk.json("conversations", "--status", "all")) == 1
    again = desk.run("skipped", "ingest", str(row_id), ok=False)
    assert again.exit_code != 0 and f"There is no skipped mail {row_id}" in again.output
