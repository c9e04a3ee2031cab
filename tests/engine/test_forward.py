"""A message forwarded with its attachments to any address, over the real Postfix (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from tests.conftest import Desk
from tests.engine.test_outbound import CUSTOMER, SUPPORT, add_desk, header, one_conversation

pytestmark = pytest.mark.mailserver

SINK = "sink@desk.test"
PDF = b"%PDF-1.4 the invoice\n" + bytes(range(256))


def mail_with_an_attachment() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Jane Doe <customer@desk.test>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Invoice wrong"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = "<inv-1@customer.example>"
    mail["X-Customer-Secret"] = "not for the forwardee's headers"
    mail.set_content("The VAT on the attached invoice is wrong.\n")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="INV 7.pdf")
    return bytes(mail)


def test_a_message_is_forwarded_with_its_attachment(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    boxes.deliver(mail_with_an_attachment(), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    conversation = one_conversation(desk)
    status = conversation["status"]
    [original] = conversation["messages"]
    assert original["message_id"] == "<inv-1@customer.example>"

    result = desk.run(
        "forward",
        "inv-1@customer.example",
        f"Accounts <{SINK}>",
        "--note-file",
        "-",
        input="Could you check the VAT?\n",
    )
    assert f"Forward to {SINK} queued in #{conversation['id']}" in result.stdout
    [queued] = desk.json("outbox")
    assert queued["kind"] == "forward" and queued["to"] == [SINK]
    desk.run("send")
    assert desk.json("outbox") == []

    [raw] = boxes.wait_for_messages(SINK, 1)
    received = message_from_bytes(raw, policy=policy.default)
    assert header(received, "From") == "Desk Support <support@desk.test>"
    assert header(received, "To") == f"Accounts <{SINK}>"
    assert header(received, "Subject") == f"Fwd: Invoice wrong [#{conversation['id']}]"
    assert received["Auto-Submitted"] == "no"
    assert received["In-Reply-To"] is None  # a new mail to the address, not a reply
    assert received["X-Customer-Secret"] is None  # the original's headers are not copied
    plain = received.get_body(preferencelist=("plain",)).get_content()
    note, _, rest = plain.partition("---------- Forwarded message ----------")
    assert note.strip() == "Could you check the VAT?"
    assert "From: Jane Doe <customer@desk.test>" in rest and "Subject: Invoice wrong" in rest
    assert "The VAT on the attached invoice is wrong." in rest
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "INV 7.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    assert boxes.messages(CUSTOMER) == []  # the customer got nothing

    after = one_conversation(desk)
    assert after["status"] == status  # forwarding leaves the status alone
    forwarded = after["messages"][-1]
    assert forwarded["direction"] == "out" and forwarded["to"] == [SINK]
    assert forwarded["state"] == "sent"
    assert [a["filename"] for a in forwarded["attachments"]] == ["INV 7.pdf"]


def test_a_bad_address_or_an_unknown_message_queues_nothing(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    boxes.deliver(mail_with_an_attachment(), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    for args, expected in [
        (["<inv-1@customer.example>", "not an address"], "is not an email address"),
        (["<inv-1@customer.example>", "a@b.example\r\nBcc: x@evil.example"], "is not an email"),
        (["<nope@customer.example>", SINK], "There is no message"),
    ]:
        result = desk.run("forward", *args, ok=False)
        assert result.exit_code == 1 and expected in result.stderr, result.output
    assert desk.json("outbox", "--all") == []
