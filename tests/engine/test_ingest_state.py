"""What a batch leaves on its conversations (and in the skipped list), on the embedded desk.

The writer inserts a new conversation with the state its first message gives it and writes back
only the conversations that changed after that, so these read every state column back from the
database: after a conversation's first message, after a reply in the same batch, after a reply
in a later batch, and for a conversation the batch does not touch.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from deskterm import paths
from deskterm.desk import queries, triage
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import blobs
from deskterm.store.models import Attachment, Channel, Conversation, Message, SkippedMail
from tests.mailfactory import make_mail

JANE = "Jane Doe <jane@customer.example>"


def at(day: int) -> datetime:
    return datetime(2025, 3, day, 9, 0, tzinfo=UTC)


def first() -> bytes:
    return make_mail(
        "Printer on fire",
        JANE,
        message_id="<p1@customer.example>",
        cc="Ann <ann@customer.example>, support@desk.test",
        date=at(3),
    )


def reply(number: int, day: int, **kw: object) -> bytes:
    return make_mail(
        "Re: Printer on fire",
        JANE,
        message_id=f"<p{number}@customer.example>",
        in_reply_to=f"<p{number - 1}@customer.example>",
        date=at(day),
        **kw,  # type: ignore[arg-type]
    )


def other() -> bytes:
    return make_mail("Kettle broken", "Bob <bob@other.example>", message_id="<k1@other.example>")


def fetched(*mails: bytes, first_uid: int = 1) -> list[Fetched]:
    return [Fetched(str(uid), b"", parse(raw)) for uid, raw in enumerate(mails, first_uid)]


def state(conversation_id: int) -> dict[str, object]:
    row = Conversation.get_by_id(conversation_id)
    return {
        "status": row.status,
        "priority": row.priority,
        "unread": row.unread,
        "message_count": row.message_count,
        "references": row.references,
        "cc": row.cc,
        "updated_at": row.updated_at,
        "contact": row.contact.email,
    }


@pytest.fixture
def channel(draft_channel: Channel) -> Channel:
    return draft_channel


def test_a_new_conversation_is_stored_as_its_first_message_leaves_it(channel: Channel) -> None:
    [outcome] = Ingestor(channel).apply(fetched(first()))
    assert state(outcome.conversation_id) == {
        "status": "open",
        "priority": "normal",
        "unread": True,
        "message_count": 1,
        "references": ["<p1@customer.example>"],
        "cc": ["ann@customer.example"],  # the desk's own address is no participant
        "updated_at": datetime(2025, 3, 3, 9, 0),
        "contact": "jane@customer.example",
    }


def test_replies_in_the_same_batch_and_a_later_one_update_the_stored_state(
    channel: Channel,
) -> None:
    urgent = {"X-Priority": "1 (Highest)"}
    outcomes = Ingestor(channel).apply(
        fetched(first(), other(), reply(2, 5, cc="Tom <tom@customer.example>", headers=urgent))
    )
    printer_id, kettle_id = outcomes[0].conversation_id, outcomes[1].conversation_id
    assert outcomes[2].conversation_id == printer_id
    kettle_before = state(kettle_id)
    assert state(printer_id) == {
        "status": "open",
        "priority": "high",
        "unread": True,
        "message_count": 2,
        "references": ["<p1@customer.example>", "<p2@customer.example>"],
        "cc": ["ann@customer.example", "tom@customer.example"],
        "updated_at": datetime(2025, 3, 5, 9, 0),
        "contact": "jane@customer.example",
    }

    triage.set_status(printer_id, "resolved")
    Conversation.update(unread=False).where(Conversation.id == printer_id).execute()
    [later] = Ingestor(channel).apply(fetched(reply(3, 7), first_uid=4))
    assert later.conversation_id == printer_id
    assert state(printer_id) == {
        "status": "open",  # the customer answered a resolved conversation
        "priority": "high",
        "unread": True,
        "message_count": 3,
        "references": [f"<p{n}@customer.example>" for n in (1, 2, 3)],
        "cc": ["ann@customer.example", "tom@customer.example"],
        "updated_at": datetime(2025, 3, 7, 9, 0),
        "contact": "jane@customer.example",
    }
    assert state(kettle_id) == kettle_before  # not touched by the later batch


def test_mail_fetched_again_and_again_stays_where_it_ended(channel: Channel) -> None:
    """A flag that never sticks makes every poll fetch the same mail (same folder, UIDVALIDITY
    and UID) again: it is that message, so nothing more is written for it (issue 11: every
    fetched mail ends in exactly one place). Another copy of it (another UID) is a duplicate
    naming its twin."""
    [stored] = Ingestor(channel).apply(fetched(first()), "INBOX", epoch="7")
    assert stored.kind == "ingested"
    for _ in range(3):
        [again] = Ingestor(channel).apply(fetched(first()), "INBOX", epoch="7")
        assert again.again and again.kind == "skipped"
    assert SkippedMail.select().count() == 0
    [copy] = Ingestor(channel).apply(fetched(first(), first_uid=2), "INBOX", epoch="7")
    assert (copy.kind, copy.reason, copy.again) == ("skipped", "duplicate", False)
    [row] = SkippedMail.select()
    assert row.twin_message == Message.get().id
    # A recreated folder (new UIDVALIDITY) reuses UID 1 for other mail: that is new mail.
    [new] = Ingestor(channel).apply(fetched(other()), "INBOX", epoch="8")
    assert new.kind == "ingested"
    assert Message.select().count() == 2


def test_what_the_text_does_not_show_is_kept_with_the_message(channel: Channel) -> None:
    html = (
        '<p>See the photo.</p><img src="https://tracker.example/open.gif">'
        '<img src="http://cdn.example/banner.png"><img src="cid:pixel">'
    )
    mail = (
        "From: Jane Doe <jane@customer.example>\r\nTo: support@desk.test\r\n"
        "Subject: Photo\r\nMessage-ID: <photo@customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{html}\r\n"
        "--b\r\nContent-Type: image/gif\r\nContent-ID: <pixel>\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==\r\n"
        "--b--\r\n"
    ).encode()
    [outcome] = Ingestor(channel).apply(fetched(mail))
    [message] = queries.conversation_detail(outcome.conversation_id)["messages"]
    assert message["notes"] == {"remote_images": 2, "dropped_parts": 1}
    [plain] = Ingestor(channel).apply(fetched(first()))
    assert queries.conversation_detail(plain.conversation_id)["messages"][0]["notes"] == {}


def with_pdf(subject: str, pdf: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = JANE, "support@desk.test", subject
    mail["Message-ID"] = f"<{subject.replace(' ', '.')}@customer.example>"
    mail.set_content("The report is attached.\n")
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="report.pdf")
    return bytes(mail)


def stored(channel: Channel, *raws: bytes) -> list[Fetched]:
    """Through the worker's own path: raw bytes and attachments to disk, then the batch."""
    items = [Fetched(str(uid), raw, None) for uid, raw in enumerate(raws, 1)]
    prepare_batch(items, None, 100_000, 1024)()
    Ingestor(channel).apply(items)
    return items


def test_the_same_file_is_stored_once_and_the_raw_mail_whole(channel: Channel) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    long_body = make_mail("Log", JANE, body="line of a very long log\n" * 20_000)
    raws = [with_pdf("Report one", pdf), with_pdf("Report two", pdf), long_body]
    items = stored(channel, *raws)
    rows = list(Attachment.select())
    assert [(a.filename, a.size) for a in rows] == [("report.pdf", len(pdf))] * 2
    files = [p for p in paths.attachments_dir().rglob("*") if p.is_file()]
    assert [f.read_bytes() for f in files] == [pdf]  # one file for both messages
    assert [blobs.read_raw(i.raw_path or "") for i in items] == raws  # byte for byte
    text = Message.get(Message.subject == "Log").text
    assert len(text.encode()) < 101_000
    assert "[... message truncated by deskterm:" in text


def test_mail_that_cannot_be_ingested_is_listed_once_however_often_it_comes(
    channel: Channel,
) -> None:
    """Its move to the failure folder may fail at every poll (the folder was deleted)."""
    too_large = Fetched("7", b"", None, "too large (40000 bytes; the limit is 20000)")
    for _ in range(3):
        [outcome] = Ingestor(channel).apply([dataclasses.replace(too_large)], "INBOX")
        assert (outcome.kind, outcome.reason) == ("failed", too_large.error)
    Ingestor(channel).apply([dataclasses.replace(too_large)], "Archive")  # another folder's 7
    rows = [(s.folder, s.uid, s.reason) for s in SkippedMail.select().order_by(SkippedMail.id)]
    assert rows == [("INBOX", "7", too_large.error), ("Archive", "7", too_large.error)]


def test_a_conversation_keeps_at_most_so_many_participants(channel: Channel) -> None:
    """Mails Cc'd to a thousand addresses each leave a bounded list (review of issue 10)."""
    from deskterm.inbound.conversation_rows import MAX_PARTICIPANTS

    crowd = ", ".join(f"p{i}@crowd.example" for i in range(1000))
    crowded = make_mail("Crowd", JANE, cc=crowd, message_id="<crowd@customer.example>")
    [first_one] = Ingestor(channel).apply(fetched(crowded))
    reply = make_mail(
        "Re: Crowd", JANE, cc=crowd.replace("p", "q"), in_reply_to="<crowd@customer.example>"
    )
    Ingestor(channel).apply(fetched(reply, first_uid=2))
    cc = Conversation.get_by_id(first_one.conversation_id).cc
    assert len(cc) == MAX_PARTICIPANTS
    assert "p0@crowd.example" in cc  # the first ones stay
