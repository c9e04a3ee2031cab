"""Replies over the real Postfix, through the durable outbox, back into the conversation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from deskterm.store import connection
from deskterm.store.db import utcnow
from deskterm.store.models import Outbox
from tests.cli.test_channel_test import silent_port  # noqa: F401 - fixture
from tests.conftest import Desk, Desks, channel_toml
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
CUSTOMER = "customer@desk.test"


def add_desk(desk: Desk, servers, outbound_extra: str = "", **kwargs) -> None:
    password = servers.users[SUPPORT]
    toml = channel_toml(servers, **kwargs).replace(
        'from = "Desk Support <support@desk.test>"',
        'from = "Desk Support <support@desk.test>"\nretry_base_seconds = 1\n' + outbound_extra,
    )
    desk.add_channel(toml, inbound=password, outbound=password)


def one_conversation(desk: Desk) -> dict:
    [row] = desk.json("conversations", "--status", "all")
    return desk.json("show", str(row["id"]))


def header(message, name: str) -> str:
    return str(make_header(decode_header(message[name])))


def test_reply_round_trip_threads_both_ways(desk: Desk, boxes, tmp_path: Path) -> None:
    add_desk(desk, boxes)
    first = make_mail(
        "Drücker kaputt", sender="Jane Doe <customer@desk.test>", message_id="<q1@customer.example>"
    )
    boxes.deliver(first, SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    conversation = one_conversation(desk)
    body = tmp_path / "reply.txt"
    body.write_text("Hello Jane,\n\nwe are sending a technician.\n")
    desk.run("reply", str(conversation["id"]), "--body-file", str(body))
    assert desk.json("outbox")[0]["state"] == "queued"
    desk.run("send")
    assert desk.json("outbox") == []

    [raw] = boxes.wait_for_messages(CUSTOMER, 1)
    received = message_from_bytes(raw)
    assert header(received, "From") == "Desk Support <support@desk.test>"
    assert header(received, "Subject") == f"Re: Drücker kaputt [#{conversation['id']}]"
    assert received["In-Reply-To"] == "<q1@customer.example>"
    assert "<q1@customer.example>" in received["References"]
    assert received["Auto-Submitted"] == "no"
    assert received["Thread-Index"] and header(received, "Thread-Topic") == "Drücker kaputt"
    assert received.get_content_type() == "multipart/alternative"
    plain = received.get_payload()[0].get_payload(decode=True).decode()
    assert "we are sending a technician." in plain
    assert "> Hello, my printer is on fire." in plain  # the quoted question
    ours = received["Message-ID"]
    assert ours.startswith(f"<deskterm.{conversation['id']}.") and ours.endswith("@desk.test>")
    [sent_copy] = boxes.messages(SUPPORT, "Sent")
    assert message_from_bytes(sent_copy)["Message-ID"] == ours

    answer = make_mail(
        "Re: Drücker kaputt",
        message_id="<q2@customer.example>",
        in_reply_to=ours,
        references=["<q1@customer.example>", ours],
    )
    boxes.deliver(answer, SUPPORT)
    boxes.wait_for_messages(SUPPORT, 2)
    desk.run("poll", "--once")
    conversation = one_conversation(desk)
    assert [m["direction"] for m in conversation["messages"]] == ["in", "out", "in"]
    assert conversation["messages"][1]["message_id"] == ours
    assert conversation["status"] == "open"  # the answer re-opened the pending conversation


def test_bad_replies_are_refused_and_nothing_is_queued(desk: Desk, boxes, tmp_path) -> None:
    add_desk(desk, boxes, outbound_extra="max_attachment_bytes = 1000")
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    conversation_id = str(one_conversation(desk)["id"])
    body = tmp_path / "body.txt"
    body.write_text("Answer\n")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 5000)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    for args, expected in [
        (["--attach", str(tmp_path / "missing.pdf")], "Cannot read the attachment"),
        (["--attach", str(big)], "over this channel's limit of 1,000"),
        (["--cc", "not-an-address"], "is not an email address"),
    ]:
        result = desk.run("reply", conversation_id, "--body-file", str(body), *args, ok=False)
        assert result.exit_code == 1 and expected in result.stderr
    result = desk.run("reply", conversation_id, "--body-file", str(empty), ok=False)
    assert "The reply is empty" in result.stderr
    result = desk.run("reply", "999", "--body-file", str(body), ok=False)
    assert "no conversation #999" in result.stderr
    assert desk.json("outbox", "--all") == []


def test_wrong_smtp_password_fails_permanently_with_a_clear_reason(desk: Desk, boxes) -> None:
    password = boxes.users[SUPPORT]
    desk.add_channel(channel_toml(boxes), inbound=password, outbound="wrong-password")
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    desk.run("reply", str(one_conversation(desk)["id"]), "--body-file", "-", input="Answer\n")
    result = desk.run("send", ok=False)
    assert result.exit_code == 1
    [item] = desk.json("outbox")
    assert item["state"] == "failed"
    assert "refused the login for support@desk.test" in item["error"]
    assert "wrong-password" not in result.output


def wait_until_due() -> None:
    """Until the queued reply's next attempt: the backoff the desk chose has passed."""
    connection.open_database()
    due = Outbox.get().next_attempt_at
    connection.close_database()
    while utcnow() < due:
        time.sleep(0.05)


def test_server_down_is_retried_and_delivered_once(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    desk.run("reply", str(one_conversation(desk)["id"]), "--body-file", "-", input="Answer\n")
    boxes.stop_postfix()
    try:
        desk.run("send", ok=False)
        [item] = desk.json("outbox")
        assert item["state"] == "queued" and item["attempts"] == 1
        assert "was refused" in item["error"]
    finally:
        boxes.start_postfix()
    assert desk.run("send").stdout == "Nothing to send.\n"  # not due yet: it backs off
    wait_until_due()
    desk.run("send")
    boxes.wait_until_queue_empty()
    assert len(boxes.messages(CUSTOMER)) == 1
    assert desk.json("outbox", "--all")[0]["state"] == "sent"


def test_rejected_recipient_is_permanent_and_shows_the_reason(desk: Desk, boxes) -> None:
    add_desk(desk, boxes)
    boxes.append(SUPPORT, make_mail("Question", sender="nobody@desk.test"))
    desk.run("poll", "--once")
    desk.run("reply", str(one_conversation(desk)["id"]), "--body-file", "-", input="Answer\n")
    desk.run("send", ok=False)
    [item] = desk.json("outbox")
    assert item["state"] == "failed"
    assert "refused the recipient" in item["error"] and "nobody@desk.test" in item["error"]
    assert " 5" in item["error"]  # the server's 5xx code is shown
    desk.run("outbox", "cancel", str(item["id"]))
    assert desk.json("outbox") == []


def test_killing_the_sender_loses_nothing(desk: Desk, boxes, silent_port: int) -> None:  # noqa: F811
    add_desk(desk, boxes, outbound_port=silent_port)
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    desk.run("reply", str(one_conversation(desk)["id"]), "--body-file", "-", input="Answer\n")
    sender = subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli.main", "send"],
        env={**os.environ, "DESKTERM_HOME": str(desk.home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    connection.open_database()
    deadline = time.monotonic() + 20
    while Outbox.get().state != "sending" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Outbox.get().state == "sending"
    sender.send_signal(signal.SIGKILL)
    sender.wait()
    connection.close_database()
    fixed = desk.home.parent / "fixed.toml"
    fixed.write_text(channel_toml(boxes))
    desk.run("channel", "edit", "support", "--file", str(fixed))
    desk.run("send")
    boxes.wait_for_messages(CUSTOMER, 1)
    assert desk.json("outbox", "--all")[0]["state"] == "sent"


def test_templates_fill_variables_and_refuse_unknown_ones(desk: Desk, boxes, tmp_path) -> None:
    add_desk(desk, boxes)
    bad = tmp_path / "bad.txt"
    bad.write_text("Hi $customer_name\n")
    result = desk.run("template", "add", "hello", "--file", str(bad), ok=False)
    assert "Unknown template variable $customer_name" in result.stderr
    good = tmp_path / "good.txt"
    good.write_text("Hello $contact_name,\nabout #$conversation_id ($subject): it costs $$5.\n")
    desk.run("template", "add", "hello", "--file", str(good))
    saved = [t["name"] for t in desk.json("template", "list") if not t["built_in"]]
    assert saved == ["hello"]
    boxes.append(SUPPORT, make_mail("Pricing", sender="Jane Doe <customer@desk.test>"))
    desk.run("poll", "--once")
    conversation_id = one_conversation(desk)["id"]
    desk.run("reply", str(conversation_id), "--template", "hello")
    desk.run("send")
    [raw] = boxes.wait_for_messages(CUSTOMER, 1)
    text = message_from_bytes(raw).get_payload()[0].get_payload(decode=True).decode()
    text = text.replace("\r\n", "\n")  # the wire format's line ends
    assert f"Hello Jane Doe,\nabout #{conversation_id} (Pricing): it costs $5." in text


def test_auto_acknowledgement_is_marked_and_rate_limited(desk: Desk, boxes, tmp_path) -> None:
    # The channel accepts automated mail, so the auto-reply below becomes a conversation and
    # the acknowledgement's own rule is what keeps it unanswered (not the inbound filter).
    add_desk(
        desk,
        boxes,
        outbound_extra='auto_ack_template = "ack"\nauto_ack_per_hour = 2',
        extra="[reading]\naccept_autogenerated = true",
    )
    ack = tmp_path / "ack.txt"
    ack.write_text("We got your mail about $subject; ticket #$conversation_id.\n")
    desk.run("template", "add", "ack", "--file", str(ack))
    for i in range(4):
        boxes.append(SUPPORT, make_mail(f"Question {i}"))
    away = "away@elsewhere.example"  # a fresh hourly allowance; mail to it lands in sink@
    boxes.append(
        SUPPORT,
        make_mail("Away", sender=f"Away <{away}>", headers={"Auto-Submitted": "auto-replied"}),
    )
    desk.run("poll", "--once")  # sends what it queued before it returns
    boxes.wait_until_queue_empty()  # and Postfix has delivered all it accepted
    acks = [message_from_bytes(r) for r in boxes.messages(CUSTOMER)]
    assert len(acks) == 2  # 4 new conversations, at most 2 acks an hour
    for message in acks:
        assert message["Auto-Submitted"] == "auto-replied"
        assert message["X-Auto-Response-Suppress"] == "All"
    assert (
        "We got your mail about Question 0"
        in acks[0].get_payload()[0].get_payload(decode=True).decode()
    )
    # The auto-reply is a conversation, but nothing answered it.
    subjects = {c["subject"]: c for c in desk.json("conversations", "--status", "all")}
    assert subjects["Away"]["contact"] == away
    assert [item["to"] for item in desk.json("outbox", "--all")] == [[CUSTOMER], [CUSTOMER]]
    assert boxes.messages("sink@desk.test") == []


def test_two_desks_acknowledging_each_other_stop(tmp_path, boxes, desks: Desks) -> None:
    """Desk A serves support@, desk B serves customer@, both auto-acknowledge."""
    template = tmp_path / "ack.txt"
    template.write_text("Thanks, we will answer soon.\n")
    homes = {}
    for name, user in (("a", SUPPORT), ("b", CUSTOMER)):
        home = tmp_path / name
        desks.use(home)
        toml = (
            channel_toml(boxes, name=name)
            .replace("support@desk.test", user)
            .replace('from = "Desk Support <', 'auto_ack_template = "ack"\nfrom = "Desk Support <')
        )
        Desk(home).add_channel(toml, inbound=boxes.users[user], outbound=boxes.users[user])
        Desk(home).run("template", "add", "ack", "--file", str(template))
        homes[name] = home
    boxes.deliver(make_mail("Hello from a human", sender=CUSTOMER), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    for _ in range(4):
        for home in homes.values():
            desks.use(home).run("poll", "--once")
            boxes.wait_until_queue_empty()  # what it sent has arrived before the next poll
    assert len(boxes.messages(SUPPORT)) == 1  # B never answered A's acknowledgement
    [only] = boxes.messages(CUSTOMER)  # A acknowledged the human once
    assert message_from_bytes(only)["Auto-Submitted"] == "auto-replied"
    skipped = desks.use(homes["b"]).json("skipped")
    assert [s["reason"] for s in skipped] == ["auto-submitted: auto-replied"]


def test_system_notifications_use_their_own_smtp(desk: Desk, boxes, monkeypatch) -> None:
    from deskterm.outbound import notify

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(boxes.smtps_port))
    monkeypatch.setenv("SMTP_SECURE", "true")
    monkeypatch.setenv("SMTP_USER", "sink@desk.test")
    monkeypatch.setenv("SMTP_PASS", boxes.users["sink@desk.test"])
    monkeypatch.setenv("SMTP_CA_FILE", str(boxes.cert_file))
    monkeypatch.setenv("DESKTERM_NOTIFY_TO", CUSTOMER)
    monkeypatch.delenv("SMTP_FROM", raising=False)
    notify.send_notification("deskterm: channel support is failing", "Details\n")
    [raw] = boxes.wait_for_messages(CUSTOMER, 1)
    message = message_from_bytes(raw)
    assert message["From"].startswith("deskterm <noreply@")
    assert message["Auto-Submitted"] == "auto-generated"


def test_no_contact_address_and_outbox_retry(desk: Desk, boxes) -> None:
    """`outbox retry` sends a reply now that would otherwise wait an hour for its next
    attempt (and refuses one already sent); a conversation without a contact address takes
    no reply at all."""
    password = boxes.users[SUPPORT]
    sender = 'from = "Desk Support <support@desk.test>"'
    toml = channel_toml(boxes).replace(sender, sender + "\nretry_base_seconds = 3600")
    desk.add_channel(toml, inbound=password, outbound=password)
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    conversation_id = one_conversation(desk)["id"]
    desk.run("reply", str(conversation_id), "--body-file", "-", input="Answer\n")
    boxes.stop_postfix()
    try:
        desk.run("send", ok=False)
    finally:
        boxes.start_postfix()
    [item] = desk.json("outbox")
    assert (item["state"], item["attempts"]) == ("queued", 1)  # next attempt in an hour
    assert desk.run("send").stdout == "Nothing to send.\n"
    desk.run("outbox", "retry", str(item["id"]))
    assert desk.json("outbox")[0]["attempts"] == 0
    desk.run("send")
    assert desk.json("outbox", "--all")[0]["state"] == "sent"
    boxes.wait_until_queue_empty()
    assert len(boxes.messages(CUSTOMER)) == 1
    result = desk.run("outbox", "retry", str(item["id"]), ok=False)
    assert "is sent; only failed, queued or cancelled items can be retried" in result.stderr

    connection.open_database()
    from deskterm.store.models import Conversation, Message

    Message.update(from_addr="", reply_to=None).execute()
    Conversation.update(contact=None).execute()
    connection.close_database()
    result = desk.run("reply", str(conversation_id), "--body-file", "-", input="Hi\n", ok=False)
    assert "has no contact address to reply to" in result.stderr
    assert len(desk.json("outbox", "--all")) == 1  # the sent one only


def test_failed_reply_can_be_retried_after_the_fix(desk: Desk, boxes) -> None:
    password = boxes.users[SUPPORT]
    desk.add_channel(channel_toml(boxes), inbound=password, outbound="wrong")
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    desk.run("reply", str(one_conversation(desk)["id"]), "--body-file", "-", input="Answer\n")
    desk.run("send", ok=False)
    [item] = desk.json("outbox")
    assert item["state"] == "failed"
    desk.run("channel", "secret", "support", "--outbound", "--stdin", input=password + "\n")
    desk.run("outbox", "retry", str(item["id"]))
    assert desk.json("outbox")[0]["state"] == "queued"
    desk.run("send")
    boxes.wait_for_messages(CUSTOMER, 1)
    assert desk.json("outbox", "--all")[0]["state"] == "sent"


def test_template_show_and_remove(desk: Desk, tmp_path) -> None:
    body = tmp_path / "t.txt"
    body.write_text("Hello $contact_name\n")
    desk.run("template", "add", "hello", "--file", str(body))
    assert desk.run("template", "show", "hello").stdout == "Hello $contact_name\n"
    desk.run("template", "remove", "hello")
    result = desk.run("template", "show", "hello", ok=False)
    assert "There is no template named 'hello'" in result.stderr
