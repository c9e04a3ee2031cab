"""`deskterm agent add|list|remove|invite`, `assign` to agents only (`me`, completion of
handles), `conversations --assignee`, and `template preview` (issue 15). The invitation goes
through the suite's real Postfix to its real Dovecot."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest

from tests.cli.test_completion import complete
from tests.conftest import Desk

FIRST = 1  # the demo's "Where is my order #48213?": open, unassigned
SINK = "sink@desk.test"  # the suite's Postfix delivers every other domain's mail here


def test_add_list_and_remove_agents(desk: Desk) -> None:
    said = desk.run("agent", "add", "Robin@Desk.example", "--name", "Robin Roe").output
    assert said == "Agent robin added (Robin Roe <robin@desk.example>).\n"
    desk.run(
        "agent", "add", "kim@desk.example", "--name", "Kim Lee", "--handle", "KL", "--login", "kim"
    )
    assert desk.json("agent", "list") == [
        {
            "handle": "kl",
            "name": "Kim Lee",
            "email": "kim@desk.example",
            "login": "kim",
            "admin": False,
        },
        {
            "handle": "robin",
            "name": "Robin Roe",
            "email": "robin@desk.example",
            "login": None,
            "admin": False,
        },
    ]
    assert "robin            Robin Roe" in desk.run("agent", "list").output
    refused = desk.run("agent", "add", "robin@desk.example", "--name", "Again", ok=False)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "deskterm: robin@desk.example is already an agent; `deskterm agent list` shows them.\n"
    )
    unconfirmed = desk.run("agent", "remove", "robin", ok=False)
    assert "add --yes to confirm" in unconfirmed.stderr
    assert desk.run("agent", "remove", "robin", "--yes").output == "Agent robin removed.\n"
    assert [a["handle"] for a in desk.json("agent", "list")] == ["kl"]


def test_assign_takes_agents_only_and_me(desk: Desk, demo_desk: None, monkeypatch) -> None:
    refused = desk.run("assign", str(FIRST), "Kim Lee", ok=False)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "deskterm: No agent is called 'Kim Lee'; `deskterm agent list` shows them.\n"
    )
    monkeypatch.delenv("DESKTERM_AGENT", raising=False)
    nobody = desk.run("assign", str(FIRST), "me", ok=False)
    assert "set DESKTERM_AGENT to your handle" in nobody.stderr
    monkeypatch.setenv("DESKTERM_AGENT", "alex")
    assert desk.run("assign", str(FIRST), "me").output == f"#{FIRST} is now assigned to alex.\n"
    mine = [row["id"] for row in desk.json("conversations", "--status", "all", "--assignee", "me")]
    assert FIRST in mine
    assert all(r["assignee"] == "alex" for r in desk.json("conversations", "--assignee", "me"))
    freed = desk.run("agent", "remove", "alex", "--yes").output
    assert freed.startswith("Agent alex removed; ") and "unassigned now" in freed
    unassigned = desk.json("conversations", "--status", "all", "--assignee", "none")
    assert FIRST in [row["id"] for row in unassigned]


def test_a_non_admin_cannot_add_remove_or_invite_nor_the_last_admin_go(
    desk: Desk, demo_desk: None, monkeypatch
) -> None:
    """The audit's case: a non-admin removed the only admin."""
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    assert desk.run("agent", "admin", "kim").output == "kim is an admin now.\n"
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    how = "; set DESKTERM_AGENT to an admin's handle (`deskterm agent list` shows who is one).\n"
    for args, what in [
        (("agent", "remove", "kim", "--yes"), "remove agents"),
        (("agent", "remove", "kim"), "remove agents"),  # refused before any question
        (("agent", "add", "eve@desk.example", "--name", "Eve"), "add agents"),
        (("agent", "invite", "alex"), "invite agents"),
        (("agent", "admin", "sam"), "change who is an admin"),
    ]:
        refused = desk.run(*args, ok=False)
        assert (refused.exit_code, refused.stderr) == (
            1,
            f"deskterm: Only an admin may {what}{how}",
        )
    assert [a["handle"] for a in desk.json("agent", "list") if a["admin"]] == ["kim"]
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    for args, what in [
        (("agent", "remove", "kim", "--yes"), "remove"),
        (("agent", "admin", "kim", "--off"), "demote"),
    ]:
        refused = desk.run(*args, ok=False)
        assert refused.stderr == (
            f"deskterm: kim is the desk's only admin, so you cannot {what} them; make another "
            "agent an admin first (`deskterm agent admin HANDLE`).\n"
        )
    desk.run("agent", "admin", "sam")
    assert desk.run("agent", "remove", "kim", "--yes").output == "Agent kim removed.\n"


def test_handles_complete_in_assign_and_agent_commands(desk: Desk, demo_desk: None) -> None:
    assert complete("agent", "re") == ["plain,remove"]
    assert complete("assign", "1", "") == ["plain,alex", "plain,kim", "plain,sam"]
    assert complete("agent", "invite", "s") == ["plain,sam"]
    assert complete("agent", "remove", "@k") == ["plain,kim"]


def test_completion_makes_no_desk(desk: Desk) -> None:
    assert complete("assign", "1", "") == []
    assert not (desk.home / "desk.sqlite3").exists()


def test_template_preview_fills_the_variables_before_saving(desk: Desk, demo_desk: None) -> None:
    draft = desk.home.parent / "draft.txt"
    draft.write_text("Hi $contact_name, about #$conversation_id: $subject\n-- $agent_name\n")
    shown = desk.run("template", "preview", "thanks", "--file", str(draft)).output
    assert shown.startswith("Hi Jane Doe, about #42: Where is my order?\n-- ")
    real = desk.run("template", "preview", "x", "--file", str(draft), "--conversation", "1")
    assert "about #1: Where is my order #48213?" in real.output
    draft.write_text("Hi $customer\n")
    refused = desk.run("template", "preview", "thanks", "--file", str(draft), ok=False)
    assert "Unknown template variable $customer" in refused.stderr
    invitation = desk.run("template", "preview", "invitation").output
    assert "Hello Robin Example," in invitation and "DESKTERM_AGENT=robin" in invitation
    draft.write_text("Welcome $invitee_name ($invitee_handle)\n")
    desk.run("template", "add", "invitation", "--file", str(draft))
    assert desk.run("template", "preview", "invitation").output == "Welcome Robin Example (robin)\n"
    draft.write_text("Welcome $contact_name\n")  # a reply's variable is no invitation's
    refused = desk.run("template", "add", "invitation", "--file", str(draft), ok=False)
    assert "use $invitee_name, $invitee_email, $invitee_handle, $agent_name" in refused.stderr


def _system_smtp(boxes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk's own SMTP account, as notifications use it (README)."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(boxes.smtps_port))
    monkeypatch.setenv("SMTP_SECURE", "ssl")
    monkeypatch.setenv("SMTP_USER", "support@desk.test")
    monkeypatch.setenv("SMTP_PASS", boxes.users["support@desk.test"])
    monkeypatch.setenv("SMTP_CA_FILE", str(boxes.cert_file))
    monkeypatch.setenv("SMTP_FROM", "Acme Desk <support@desk.test>")


def test_an_invitation_goes_through_the_desks_own_smtp(
    desk: Desk, boxes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _system_smtp(boxes, monkeypatch)
    monkeypatch.setenv("DESKTERM_AGENT", "lead")
    desk.run("agent", "add", "lead@desk.example", "--name", "Lee Lead", "--handle", "lead")
    # A name another agent typed, meant to add a header: it stays text in the To line.
    hostile = "=?utf-8?q?Rob=0D=0ABcc:_x@evil.example?="
    said = desk.run("agent", "add", "robin@newhire.example", "--name", hostile, "--invite").output
    assert said.endswith("Invitation sent to robin@newhire.example.\n")
    [raw] = boxes.wait_for_messages(SINK, 1)
    message = message_from_bytes(raw)
    assert [name for name in message if name.lower() in ("bcc", "cc")] == []
    to = str(make_header(decode_header(message["To"])))
    assert to == f"{hostile} <robin@newhire.example>"  # decoded once: the literal text
    assert message["From"] == "Acme Desk <support@desk.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Lee Lead invites you to answer on the help desk as robin"
    body = message.get_payload(decode=True).decode()
    assert "Lee Lead has added you" in body and "DESKTERM_AGENT=robin" in body

    boxes.clear(SINK)
    template = desk.home.parent / "invitation.txt"
    template.write_text("Welcome, $invitee_name! Your handle: $invitee_handle.\n")
    desk.run("template", "add", "invitation", "--file", str(template))
    assert desk.run("agent", "invite", "robin").output == (
        "Invitation sent to robin@newhire.example.\n"
    )
    [raw] = boxes.wait_for_messages(SINK, 1)
    text = message_from_bytes(raw).get_payload(decode=True).decode().replace("\r\n", "\n")
    assert text == f"Welcome, {hostile}! Your handle: robin.\n"


def test_an_invitation_without_the_desks_smtp_says_what_to_set(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMTP_HOST", raising=False)
    desk.run("agent", "add", "robin@desk.example", "--name", "Robin")
    refused = desk.run("agent", "invite", "robin", ok=False)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "deskterm: SMTP_HOST is not set; system notifications need their own SMTP server.\n"
    )
