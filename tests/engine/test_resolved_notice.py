"""The resolved notice over the suite's real Postfix: sent on resolve, once, only where the
channel enables it, its HTML part's values from mail escaped."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.conftest import Desk
from tests.engine.test_outbound import CUSTOMER, SUPPORT, add_desk, one_conversation
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver

HOSTILE = 'Broken <img src="http://evil.example/x.png"> & co'


def resolve_desk(desk: Desk, boxes, tmp_path: Path, outbound_extra: str) -> int:
    add_desk(desk, boxes, outbound_extra=outbound_extra)
    text, html = tmp_path / "resolved.txt", tmp_path / "resolved.html"
    text.write_text("Hello $contact_name, #$conversation_id ($subject) is resolved.\n")
    html.write_text("<p>Hello $contact_name, <b>$subject</b> is resolved.</p>\n")
    desk.run(
        "template", "add", "done", "--kind", "resolved", "--file", str(text), "--html", str(html)
    )
    boxes.deliver(
        make_mail(HOSTILE, sender="Jane Doe <customer@desk.test>", message_id="<r1@c.example>"),
        SUPPORT,
    )
    boxes.wait_for_messages(SUPPORT, 1)
    desk.run("poll", "--once")
    return one_conversation(desk)["id"]


def test_resolving_mails_the_customer_once(desk: Desk, boxes, tmp_path: Path) -> None:
    cid = resolve_desk(desk, boxes, tmp_path, 'resolved_template = "done"')
    desk.run("status", str(cid), "pending")
    desk.run("send")
    assert desk.json("outbox", "--all") == []  # pending sends nothing
    desk.run("status", str(cid), "resolved")
    desk.run("status", str(cid), "open")  # changed their mind, and resolved it again
    desk.run("status", str(cid), "resolved")
    desk.run("send")
    boxes.wait_until_queue_empty()
    [raw] = boxes.messages(CUSTOMER)
    received = message_from_bytes(raw, policy=policy.default)
    assert received["Auto-Submitted"] == "auto-replied"
    assert received["Subject"] == f"Re: {HOSTILE} [#{cid}]"
    plain = received.get_body(("plain",)).get_content()
    assert f"Hello Jane Doe, #{cid} ({HOSTILE}) is resolved." in plain
    html = received.get_body(("html",)).get_content()
    assert "<img" not in html
    assert "<b>Broken &lt;img src=&quot;http://evil.example/x.png&quot;&gt; &amp; co</b>" in html
    assert desk.json("show", str(cid))["status"] == "resolved"


def test_no_notice_where_the_channel_does_not_enable_it(desk: Desk, boxes, tmp_path) -> None:
    cid = resolve_desk(desk, boxes, tmp_path, "")
    desk.run("status", str(cid), "resolved")
    desk.run("send")
    boxes.wait_until_queue_empty()
    assert boxes.messages(CUSTOMER) == []
    assert desk.json("outbox", "--all") == []
