"""Hostile mail through the real Dovecot and Postfix: it must never make the desk send, stop or
misroute mail (issue 10). Each test sends what an attacker with nothing but an address could
send, over the MX port, and checks what the desk then does and sends."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import aiosmtplib
import pytest

from deskterm.desk import triage
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail import compose
from deskterm.mail.parse import parse
from deskterm.outbound import acks
from deskterm.store import connection, db
from deskterm.store.models import Channel, Conversation
from tests.conftest import Desk, channel_toml
from tests.engine.test_outbound import CUSTOMER, SUPPORT, add_desk
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver

SINK = "sink@desk.test"  # Postfix hands every address outside desk.test to this mailbox


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def with_ack(desk: Desk, servers, tmp_path: Path, per_hour: int = 3) -> None:
    add_desk(
        desk, servers, outbound_extra=f'auto_ack_template = "ack"\nauto_ack_per_hour = {per_hour}'
    )
    template = tmp_path / "ack.txt"
    template.write_text("We got your mail about $subject.\n")
    desk.run("template", "add", "ack", "--file", str(template))


def raw(*headers: str, body: str = "Hello\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def conversations(desk: Desk) -> list[dict]:
    return desk.json("conversations", "--status", "all")


# --- 1: header and body injection -------------------------------------------------------------


def test_message_id_with_encoded_crlf_cannot_shape_the_acknowledgement(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    with_ack(desk, boxes, tmp_path)
    payload = (
        "\r\nReply-To: x@attacker.example\r\nContent-Type: text/html\r\n\r\n<h1>phish</h1><!--"
    )
    hostile_id = f"<a=?utf-8?b?{b64(payload)}?=@attacker.example>"
    boxes.deliver(
        raw(
            f"From: {CUSTOMER}",
            f"To: {SUPPORT}",
            "Subject: Question",
            f"Message-ID: {hostile_id}",
            f"References: {hostile_id}",
        ),
        SUPPORT,
    )
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [conversation] = conversations(desk)
    [stored, _ack] = desk.json("show", str(conversation["id"]))["messages"]
    assert stored["message_id"] is None  # not msg-id syntax: not kept, never written back
    desk.run("send")
    [ack] = boxes.wait_for_messages(CUSTOMER, 1)
    received = message_from_bytes(ack)
    assert received["Reply-To"] is None
    assert received.get_content_type() == "multipart/alternative"
    assert b"phish" not in ack and b"attacker" not in ack
    assert received["In-Reply-To"] is None and received["References"] is None


def test_double_encoded_subject_cannot_inject_headers_into_a_reply(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    add_desk(desk, boxes)
    injection = "x\r\nBcc: victim@elsewhere.example\r\nX-Injected: 1"
    inner = f"=?utf-8?b?{b64(injection)}?="
    boxes.deliver(
        raw(f"From: {CUSTOMER}", f"To: {SUPPORT}", f"Subject: =?utf-8?b?{b64(inner)}?="), SUPPORT
    )
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [conversation] = conversations(desk)
    desk.run("reply", str(conversation["id"]), "--body-file", "-", input="Answer\n")
    desk.run("send")
    [reply] = boxes.wait_for_messages(CUSTOMER, 1)
    received = message_from_bytes(reply)
    assert received["X-Injected"] is None and received["Bcc"] is None
    # The subject reads as the customer wrote it (a literal encoded word), in both headers.
    subject = str(make_header(decode_header(received["Subject"])))
    assert subject == f"Re: {inner} [#{conversation['id']}]"
    assert str(make_header(decode_header(received["Thread-Topic"]))) == inner
    assert boxes.messages(SINK) == []  # no Bcc went anywhere


def test_a_reply_whose_headers_do_not_serialize_as_built_is_refused() -> None:
    reply = compose.Reply(1, "Desk <support@desk.test>", ["c@customer.example"], "Hi", "Text\n")
    message = compose.build(reply)
    forged = compose._Written.text("Subject", "Hi")
    forged.wire = "Hi\r\nBcc: x@attacker.example"  # what a decoding header factory could emit
    del message["Subject"]
    message["Subject"] = forged
    with pytest.raises(compose.UnsafeReply, match="not queued"):
        compose.check(message)


# --- 2, 3: acknowledgements -------------------------------------------------------------------


def test_acknowledgements_go_to_the_sender_and_count_that_address(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    with_ack(desk, boxes, tmp_path, per_hour=2)
    for i in range(5):  # forged senders all asking for the reply to go to the victim
        boxes.deliver(
            raw(
                f"From: sender{i}@elsewhere.example",
                f"Reply-To: {CUSTOMER}",
                f"To: {SUPPORT}",
                f"Subject: Question {i}",
            ),
            SUPPORT,
        )
    for i in range(3):  # and one real sender writing three times
        boxes.deliver(
            raw("From: jane@elsewhere.example", f"To: {SUPPORT}", f"Subject: Q{i}"), SUPPORT
        )
    boxes.wait_for_messages(SUPPORT, 8)
    desk.run("poll", "--once")
    desk.run("send")
    acks = boxes.wait_for_messages(SINK, 7)
    assert boxes.messages(CUSTOMER) == []  # never to the Reply-To
    recipients = sorted(message_from_bytes(a)["To"] for a in acks)
    assert recipients.count("jane@elsewhere.example") == 2  # the limit counts the address
    assert len(recipients) == 7


def test_the_desk_sends_at_most_so_many_acknowledgements_an_hour(
    desk: Desk, boxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acks, "DESK_ACKS_PER_HOUR", 3)
    with_ack(desk, boxes, tmp_path)
    for i in range(5):
        boxes.deliver(raw(f"From: s{i}@elsewhere.example", f"To: {SUPPORT}", "Subject: Q"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 5)
    desk.run("poll", "--once")
    assert len(desk.json("outbox", "--all")) == 3
    assert len(conversations(desk)) == 5


@pytest.mark.parametrize("sender", [">[, <.@@[", "@domain.example", "develop!a@b@c"])
def test_a_bad_from_neither_stops_the_channel_nor_becomes_an_address(
    desk: Desk, boxes, tmp_path: Path, sender: str
) -> None:
    with_ack(desk, boxes, tmp_path)
    boxes.deliver(raw(f"From: {sender}", f"To: {SUPPORT}", "Subject: Bad"), SUPPORT)
    boxes.deliver(make_mail("Good"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 2)
    desk.run("poll", "--once")
    rows = {c["subject"]: c for c in conversations(desk)}
    assert set(rows) == {"Bad", "Good"}
    assert rows["Bad"]["contact"] is None
    desk.run("send")
    [ack] = boxes.wait_for_messages(CUSTOMER, 1)  # the good mail was acknowledged
    assert "Good" in str(make_header(decode_header(message_from_bytes(ack)["Subject"])))


def test_an_acknowledgement_that_cannot_be_built_is_noted_on_its_mail(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    add_desk(desk, boxes, outbound_extra='auto_ack_template = "missing"')
    boxes.deliver(make_mail("First"), SUPPORT)
    boxes.deliver(make_mail("Second", sender="b@elsewhere.example"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 2)
    desk.run("poll", "--once")  # exits 0: the batch is stored
    rows = conversations(desk)
    assert len(rows) == 2
    for row in rows:
        [message] = desk.json("show", str(row["id"]))["messages"]
        assert "missing" in message["notes"]["ack_failed"]
    assert desk.json("outbox") == []


# --- 5: thread hijack and reply redirection --------------------------------------------------


def test_replies_go_to_the_contact_unless_the_agent_picks_the_reply_to(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    add_desk(desk, boxes)
    boxes.deliver(make_mail("Invoice", headers={"Reply-To": "billing@elsewhere.example"}), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [row] = conversations(desk)
    detail = desk.json("show", str(row["id"]))
    assert detail["contact"] == CUSTOMER and detail["reply_to"] == "billing@elsewhere.example"
    shown = desk.run("show", str(row["id"])).stdout
    assert "billing@elsewhere.example instead; reply with --to-reply-to" in shown
    queued = desk.run("reply", str(row["id"]), "--body-file", "-", input="One\n").stdout
    assert f"queued for {CUSTOMER}" in queued
    picked = desk.run(
        "reply", str(row["id"]), "--to-reply-to", "--body-file", "-", input="Two\n"
    ).stdout
    assert "queued for billing@elsewhere.example" in picked
    desk.run("send")
    [to_contact] = boxes.wait_for_messages(CUSTOMER, 1)
    [to_reply_to] = boxes.wait_for_messages(SINK, 1)
    assert b"One" in to_contact and b"Two" in to_reply_to


def test_a_stranger_joining_by_in_reply_to_is_marked_and_changes_nothing(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    boxes.deliver(make_mail("Order", message_id="<order@customer.example>"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [row] = conversations(desk)
    connection.open_database()
    try:
        triage.set_status(row["id"], "resolved")
    finally:
        connection.close_database()
    hostile = make_mail(
        "Re: Order",
        sender="mallory@elsewhere.example",
        in_reply_to="<order@customer.example>",
        cc="accomplice@elsewhere.example",
        headers={"Reply-To": "mallory@elsewhere.example", "Importance": "high"},
        date=datetime(2199, 1, 1, tzinfo=UTC),
    )
    boxes.deliver(hostile, SUPPORT)
    boxes.wait_for_messages(SUPPORT, 2)
    desk.run("poll", "--once")
    [after] = conversations(desk)
    assert after["id"] == row["id"] and after["status"] == "resolved"
    assert after["priority"] == "normal"
    detail = desk.json("show", str(row["id"]))
    _first, second = detail["messages"]
    assert second["notes"]["outsider"] is True
    assert second["date"] < "2100"  # the 2199 Date is not believed
    assert detail["reply_to"] is None  # the outsider's Reply-To is not offered
    connection.open_database()
    try:
        assert Conversation.get_by_id(row["id"]).cc == []
    finally:
        connection.close_database()
    assert "not a participant" in desk.run("show", str(row["id"])).stdout
    desk.run("reply", str(row["id"]), "--body-file", "-", input="Hi\n")
    desk.run("send")
    [sent] = boxes.wait_for_messages(CUSTOMER, 1)
    assert message_from_bytes(sent)["In-Reply-To"] == "<order@customer.example>"
    assert boxes.messages(SINK) == []


def test_threading_never_crosses_channels(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    other = channel_toml(boxes, name="other").replace(
        'username = "support@desk.test"', f'username = "{CUSTOMER}"'
    )
    desk.add_channel(other, inbound=boxes.users[CUSTOMER], outbound=boxes.users[CUSTOMER])
    boxes.deliver(make_mail("Mine", message_id="<mine@customer.example>"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once", "--channel", "support")
    [mine] = conversations(desk)
    # A mail to the other mailbox naming the first conversation by header and by token.
    boxes.deliver(
        make_mail(
            f"Re: Mine [#{mine['id']}]",
            sender="jane@elsewhere.example",
            in_reply_to="<mine@customer.example>",
        ),
        CUSTOMER,
    )
    boxes.wait_for_messages(CUSTOMER, 1)
    desk.run("poll", "--once", "--channel", "other")
    rows = conversations(desk)
    assert len(rows) == 2
    assert {r["channel"] for r in rows} == {"support", "other"}


def test_a_subject_token_from_a_stranger_or_in_bulk_does_not_join(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    boxes.deliver(make_mail("Mine"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [mine] = conversations(desk)
    boxes.deliver(make_mail(f"Re: [#{mine['id']}]", sender="mallory@elsewhere.example"), SUPPORT)
    # 9,000 tokens: looked at once each and only the first few, within one poll.
    many = " ".join(f"[#{i}]" for i in range(1000, 10000)) + f" [#{mine['id']}]"
    boxes.deliver(make_mail(many), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 3)
    desk.run("poll", "--once")
    assert len(conversations(desk)) == 3


def test_a_subject_full_of_tokens_costs_a_few_queries(
    draft_channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """9,000 `[#id]` tokens cost one lookup per token inside the write transaction (seconds
    per mail); now they are de-duplicated and only the first few are looked up, at once."""
    statements: list[str] = []
    execute = type(db.database.obj).execute_sql

    def counting(self, sql, *args, **kwargs):
        statements.append(sql)
        return execute(self, sql, *args, **kwargs)

    subject = " ".join(f"[#{i}]" for i in range(1, 9001))
    batch = [Fetched("1", b"", parse(make_mail(subject, message_id="<t@customer.example>")))]
    ingestor = Ingestor(draft_channel)
    monkeypatch.setattr(type(db.database.obj), "execute_sql", counting)
    [outcome] = ingestor.apply(batch)
    assert outcome.kind == "ingested"
    assert len(statements) < 40, len(statements)


# --- 7: SMTP sessions ------------------------------------------------------------------------


def test_international_addresses_are_answered_and_do_not_poison_the_session(
    desk: Desk, boxes
) -> None:
    add_desk(desk, boxes)
    for i, sender in enumerate(("Jörg <j@exämple.de>", "Ünal <ünal@exämple.de>", CUSTOMER)):
        # 8-bit headers, as SMTPUTF8 mail arrives.
        boxes.deliver(raw(f"From: {sender}", f"To: {SUPPORT}", f"Subject: Q{i}"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 3)
    desk.run("poll", "--once")
    for row in conversations(desk):
        desk.run("reply", str(row["id"]), "--body-file", "-", input="Answer\n")
    result = desk.run("send")
    assert result.stdout.count(": sent") == 3, result.stdout
    boxes.wait_for_messages(CUSTOMER, 1)
    # The IDNA domain reaches the sink as ASCII. The non-ASCII local part was accepted by
    # Postfix over SMTPUTF8 (counted as sent above); whether the suite's Dovecot LMTP then
    # stores it or Postfix bounces it varies from run to run, and is not the desk's part.
    boxes.wait_for_messages(SINK, 1)
    boxes.wait_until_queue_empty()
    recipients = {message_from_bytes(m)["To"] for m in boxes.messages(SINK)}
    assert "j@xn--exmple-cua.de" in recipients, recipients
    assert recipients <= {"j@xn--exmple-cua.de", "ünal@xn--exmple-cua.de"}, recipients


def test_a_failure_inside_the_transaction_does_not_fail_the_next_reply(
    desk: Desk, boxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_desk(desk, boxes)
    boxes.deliver(make_mail("One"), SUPPORT)
    boxes.deliver(make_mail("Two"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 2)
    desk.run("poll", "--once")
    first, second = sorted(r["id"] for r in conversations(desk))
    for conversation_id in (first, second):
        desk.run("reply", str(conversation_id), "--body-file", "-", input="Answer\n")
    # Any failure after MAIL FROM that is not an SMTP reply (here: a local error before DATA,
    # as a bad recipient's encoding raised) left the transaction open on the real Postfix,
    # and the next reply failed with "503 nested MAIL command".
    real_data = aiosmtplib.SMTP.data
    calls = []

    async def data_failing_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("failed locally inside the transaction")
        return await real_data(self, *args, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "data", data_failing_once)
    result = desk.run("send", ok=False)
    # The reply code alone, not inside a port number such as 127.0.0.1:35035.
    assert not re.search(r"(?<![\d:])503(?!\d)", result.stdout), result.stdout
    assert "nested MAIL" not in result.stdout
    assert f"#{second} (outbox 2): sent" in result.stdout, result.stdout
    [delivered] = boxes.wait_for_messages(CUSTOMER, 1)
    assert f"[#{second}]".encode() in delivered


def test_a_forged_from_does_not_join_by_token_where_the_server_verifies_senders(
    desk: Desk, boxes
) -> None:
    """With `authserv_id`, a From counts only when the receiving server's (topmost)
    Authentication-Results verified it: a forged From of the contact with a `[#id]` token starts
    a conversation of its own, whatever headers the forger added further down."""
    toml = channel_toml(boxes) + '\n[reading]\nauthserv_id = "mx.desk.test"\n'
    desk.add_channel(toml, inbound=boxes.users[SUPPORT], outbound=boxes.users[SUPPORT])
    verified = {"Authentication-Results": "mx.desk.test; dmarc=pass header.from=desk.test"}
    boxes.deliver(make_mail("Order", headers=verified), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [order] = conversations(desk)
    forged = raw(
        f"From: {CUSTOMER}",
        f"To: {SUPPORT}",
        f"Subject: Re: Order [#{order['id']}] new bank details",
        "Authentication-Results: mx.desk.test; dmarc=fail (p=none) header.from=desk.test",
        "Authentication-Results: mx.desk.test; dmarc=pass header.from=desk.test",
    )
    boxes.deliver(forged, SUPPORT)
    boxes.deliver(make_mail(f"Re: Order [#{order['id']}]", headers=verified), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 3)
    desk.run("poll", "--once")
    rows = {r["subject"]: r for r in conversations(desk)}
    assert len(rows) == 2
    assert rows["Order"]["messages"] == 2  # the verified reply joined
    assert f"Re: Order [#{order['id']}] new bank details" in rows  # the forged one did not


def test_an_attachment_name_cannot_shape_its_part_and_lines_stay_short(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    """The review's sibling of finding 1: an attachment's name went through the header
    factory (decoded into a blank line and a body of its own inside the part), and a long
    subject or Thread-Index from mail made header lines longer than 998 bytes."""
    add_desk(desk, boxes)
    index = base64.b64encode(b"\x01" * 22 + b"\x00" * 5 * 500).decode()
    boxes.deliver(
        raw(
            f"From: {CUSTOMER}",
            f"To: {SUPPORT}",
            "Subject: " + "x" * 3000,
            f"Thread-Index: {index}",
        ),
        SUPPORT,
    )
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [conversation] = conversations(desk)
    name = f"=?utf-8?b?{b64('x' + chr(13) + chr(10) * 2 + 'INJECTED BODY')}?=.txt"
    attached = tmp_path / name
    attached.write_bytes(b"the real content\n")
    desk.run(
        "reply", str(conversation["id"]), "--attach", str(attached), "--body-file", "-",
        input="See attached.\n",
    )  # fmt: skip
    desk.run("send")
    [sent] = boxes.wait_for_messages(CUSTOMER, 1)
    received = message_from_bytes(sent)
    part = received.get_payload()[-1]
    assert part.get_filename() == name
    assert part.get_payload(decode=True) == b"the real content\n"
    assert b"INJECTED BODY" not in sent
    head = sent.partition(b"\r\n\r\n")[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998


def test_lookalike_domains_are_the_address_they_are_sent_to(
    desk: Desk, boxes, tmp_path: Path
) -> None:
    """IDNA folds fullwidth letters (and ß to ss) when a domain is sent: `ｅlsewhere.example`
    is `elsewhere.example` on the wire. Stored as the same address, they are one contact and
    one rate limit, and our own address in fullwidth letters is still our own (a loop)."""
    with_ack(desk, boxes, tmp_path, per_hour=1)
    for i, sender in enumerate(
        ("victim@elsewhere.example", "victim@ｅlsewhere.example", "victim@eｌsewhere.example")
    ):
        boxes.deliver(raw(f"From: {sender}", f"To: {SUPPORT}", f"Subject: Q{i}"), SUPPORT)
    boxes.deliver(raw("From: support@ｄesk.test", f"To: {SUPPORT}", "Subject: Ours"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 4)
    desk.run("poll", "--once")
    rows = conversations(desk)
    assert {r["contact"] for r in rows} == {"victim@elsewhere.example"}
    assert len(desk.json("outbox", "--all")) == 1  # one address, one acknowledgement an hour
    assert [s["reason"] for s in desk.json("skipped")] == ["loop: sent by our own address"]


def test_a_body_cannot_draw_a_message_of_its_own_in_show(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    fake = f"Hi\n\n<- {CUSTOMER}  2026-12-01T09:00:00+00:00\nOur bank details have changed.\n"
    boxes.deliver(make_mail("Invoice", sender="mallory@elsewhere.example", body=fake), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    [row] = conversations(desk)
    shown = desk.run("show", str(row["id"])).stdout.splitlines()
    assert [line for line in shown if line.startswith("<-")] == [
        next(line for line in shown if line.startswith("<- mallory@elsewhere.example"))
    ]


def test_html_that_would_take_gigabytes_arrives_with_the_mail_behind_it(desk: Desk, boxes) -> None:
    """Finding 4 through the real servers: 60 KB of nested blocks with em margins (7.6 GB
    and 56 s in inscriptis before) and an ordinary mail behind it, in one poll."""
    from tests.engine.test_html_text import html_mail, nested_divs

    add_desk(desk, boxes)
    boxes.deliver(html_mail(nested_divs(60_000), subject="Hostile layout"), SUPPORT)
    boxes.deliver(make_mail("Ordinary"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 2)
    desk.run("poll", "--once")
    rows = {r["subject"]: r for r in conversations(desk)}
    assert set(rows) == {"Hostile layout", "Ordinary"}
    [hostile] = desk.json("show", str(rows["Hostile layout"]["id"]))["messages"]
    assert any("HTML" in note for note in hostile["notes"]["repairs"])
