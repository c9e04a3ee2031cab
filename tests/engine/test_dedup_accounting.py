"""No mail merged away, none unaccounted for (issue 11, part 1), through the real Dovecot.

The dedup key is over the mail's content (deskterm.mail.parse.content_key): the headers that
make a mail and its whole body. Every fetched mail (folder + UIDVALIDITY + UID) ends in exactly
one place, a message or a skipped row, and the run's counts are what `deskterm skipped` lists.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from deskterm.mail.parse import content_key
from deskterm.store import connection
from deskterm.store.models import Attachment, Message, SkippedMail
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
DATE = "Thu, 03 Dec 2026 09:15:00 +0000"


def scanned(pdf: bytes) -> bytes:
    """What an office scanner sends: same sender, subject, second and text; another PDF."""
    return (
        "From: Scanner <scanner@customer.example>\r\nTo: support@desk.test\r\n"
        f"Subject: Scanned document\r\nDate: {DATE}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="scan"\r\n\r\n'
        "--scan\r\nContent-Type: text/plain\r\n\r\nPlease find the scan attached.\r\n"
        '--scan\r\nContent-Type: application/pdf; name="scan.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(pdf).decode()}"
        "--scan--\r\n"
    ).encode()


HEADER_ONLY = b"X-Mailer: something\r\n\r\n"
DIGEST = (
    b'MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary="d"\r\n\r\n'
    b"--d\r\n\r\nFrom: a@customer.example\r\nSubject: one\r\n\r\nFirst digest entry.\r\n"
    b"--d\r\n\r\nFrom: b@customer.example\r\nSubject: two\r\n\r\nSecond digest entry.\r\n"
    b"--d--\r\n"
)


def corpus() -> list[bytes]:
    twice = make_mail("Asked twice", message_id="<twice@customer.example>")
    away = make_mail("Away", sender="bot@other.example", headers={"Auto-Submitted": "auto-replied"})
    return [
        *(scanned(b"%PDF-1.4 page " + bytes([n]) * 4000) for n in range(3)),
        HEADER_ONLY,
        DIGEST,
        make_mail("First", message_id="<same@customer.example>", body="One text.\n"),
        make_mail("Second", message_id="<same@customer.example>", body="Another text.\n"),
        twice,
        twice,  # the very same mail again, under another UID: a duplicate
        away,
        away,  # filtered mail twice: each copy listed with its reason
    ]


def run(desk: Desk) -> dict:
    desk.run("poll", "--once")
    return desk.json("jobs")["runs"][0]


def assert_accounted(run: dict, messages: int, skipped: list[dict], mails: int) -> None:
    """fetched = ingested + skipped + failed, and the rows are what the run says."""
    assert run["fetched"] == mails
    assert run["ingested"] == messages
    assert run["skipped"] + run["failed"] == len(skipped)
    assert messages + len(skipped) == mails


def test_every_fetched_mail_is_one_message_or_one_listed_row(desk: Desk, boxes) -> None:
    mails = corpus()
    for raw in mails:
        boxes.append(SUPPORT, raw)
    desk.add_channel(
        channel_toml(boxes), inbound=boxes.users[SUPPORT], outbound=boxes.users[SUPPORT]
    )
    first = run(desk)
    skipped = desk.json("skipped")
    connection.open_database()
    try:
        messages = Message.select().where(Message.direction == "in").count()
        scans = Message.select().where(Message.subject == "Scanned document")
        pdfs = {a.sha256 for a in Attachment.select().where(Attachment.message.in_(scans))}
        [second_id] = Message.select().where(Message.subject == "Second")
        first_id = Message.get(Message.subject == "First").id
    finally:
        connection.close_database()
    assert_accounted(first, messages, skipped, len(mails))
    # Nothing merged: three scans with three PDFs, the header-only mail and the digest.
    assert scans.count() == 3 and len(pdfs) == 3
    assert messages == 8  # 3 scans, header-only, digest, First, Second, Asked twice
    # Same Message-ID, other content: both kept, the second says so.
    assert second_id.notes["same_message_id_as"] == first_id
    reasons = sorted(row["reason"] for row in skipped)
    assert reasons == ["auto-submitted: auto-replied"] * 2 + ["duplicate"]
    [duplicate] = [row for row in skipped if row["reason"] == "duplicate"]
    assert duplicate["twin_message"] is not None and "of message" in desk.run("skipped").stdout

    # The flags do not stick (another client removed them): everything is fetched again, and
    # each mail is recognised as the fetch it was, so nothing more is written.
    with boxes.imap(SUPPORT) as conn:
        conn.select("INBOX")
        conn.uid("STORE", "1:*", "-FLAGS.SILENT", "($DeskProcessed)")
    again = run(desk)
    assert again["fetched"] == len(mails)
    assert (again["ingested"], again["skipped"], again["failed"]) == (0, 0, 0)
    assert len(desk.json("skipped")) == len(skipped)


CORPUS = Path(__file__).parent.parent / "corpus"


def test_the_public_corpus_is_accounted_for_mail_by_mail(desk: Desk, boxes) -> None:
    """The public mail-parser fixtures (tests/corpus): many share one template (one Message-ID,
    the same first lines), some have no From, Subject, Date or text. Every one is a message or
    a listed row, and the run says exactly what the list shows."""
    mails = [p.read_bytes() for p in sorted(CORPUS.glob("*/*")) if p.is_file()]
    assert len(mails) > 150
    for raw in mails:
        boxes.append(SUPPORT, raw)
    desk.add_channel(
        channel_toml(boxes), inbound=boxes.users[SUPPORT], outbound=boxes.users[SUPPORT]
    )
    result = run(desk)
    skipped = desk.json("skipped", "--limit", "1000")
    connection.open_database()
    try:
        messages = Message.select().where(Message.direction == "in").count()
        # A duplicate is the same content as its stored twin, nothing less.
        twins = [
            (row.dedup_key, Message.get_by_id(row.twin_message).dedup_key)
            for row in SkippedMail.select().where(SkippedMail.reason == "duplicate")
        ]
    finally:
        connection.close_database()
    assert_accounted(result, messages, skipped, len(mails))
    assert twins and all(mine == theirs for mine, theirs in twins)
    # Mails the corpus holds twice (same content) are the only ones that can be duplicates.
    assert len(twins) <= len(mails) - len({content_key(raw) for raw in mails})
