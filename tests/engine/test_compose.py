"""Outgoing mail headers, without a server."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest

from deskterm.desk import templates
from deskterm.errors import ConfigError
from deskterm.mail import compose
from deskterm.mail.message_ids import trim_references

pytestmark = pytest.mark.without_database


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer on fire", "Re: Printer on fire [#42]"),
        ("Re: Printer on fire", "Re: Printer on fire [#42]"),
        ("RE: Re: AW: Fwd: Printer on fire [#42]", "Re: Printer on fire [#42]"),
        ("Re[2]: Printer [#42] on fire", "Re: Printer on fire [#42]"),
        ("", "Re: (no subject) [#42]"),
    ],
)
def test_reply_subject_has_one_re_and_one_token(subject: str, expected: str) -> None:
    assert compose.reply_subject(subject, 42) == expected


def test_long_reference_chains_keep_root_and_newest() -> None:
    chain = [f"<{i}@x>" for i in range(30)]
    trimmed = trim_references(chain, compose.REFERENCES_SENT)
    assert len(trimmed) == compose.REFERENCES_SENT
    assert trimmed[0] == "<0@x>" and trimmed[-1] == "<29@x>"
    assert trim_references(["<a@x>", "<a@x>", "<b@x>"], 10) == ["<a@x>", "<b@x>"]


def test_thread_index_starts_a_thread_and_extends_the_customers() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    root = base64.b64decode(compose.thread_index(None, 7, now))
    assert len(root) == 22 and root[0] == 1
    assert compose.thread_index(None, 7, now) == compose.thread_index(None, 7, now)
    parent = base64.b64encode(root).decode()
    child = base64.b64decode(compose.thread_index(parent, 7, now + timedelta(hours=1)))
    assert len(child) == 27 and child[:22] == root
    assert compose.thread_index("garbage!!", 7, now) == parent  # bad input: a fresh root


def test_built_reply_encodes_names_and_subjects() -> None:
    reply = compose.Reply(
        conversation_id=3,
        from_header="Désk Süpport <support@desk.test>",
        to=["Jöhn Dœ <john@example.com>"],
        subject="Ärger mit der Rechnung",
        body="Grüße\n",
        in_reply_to="<a@example.com>",
        references=["<a@example.com>"],
    )
    message = message_from_bytes(bytes(compose.build(reply)))
    assert str(make_header(decode_header(message["Subject"]))) == "Re: Ärger mit der Rechnung [#3]"
    assert str(make_header(decode_header(message["From"]))) == "Désk Süpport <support@desk.test>"
    assert str(make_header(decode_header(message["To"]))) == "Jöhn Dœ <john@example.com>"
    assert message["Auto-Submitted"] == "no"
    assert all(len(line) <= 78 for line in bytes(compose.build(reply)).split(b"\r\n")[:20])


def test_automatic_replies_are_marked() -> None:
    reply = compose.Reply(1, "d <d@x.test>", ["c@y.test"], "Hi", "Thanks\n", automatic=True)
    message = compose.build(reply)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_templates_refuse_unknown_and_stray_dollars() -> None:
    templates.check("Hello $contact_name, ${subject} costs $$5")
    with pytest.raises(ConfigError, match=r"Unknown template variable \$name"):
        templates.check("Hello $name")
    with pytest.raises(ConfigError, match="stray"):
        templates.check("costs $5")
    assert templates.render("Hi $contact_name", {"contact_name": "Ann"}) == "Hi Ann"
