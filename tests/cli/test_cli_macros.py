"""`deskterm macro add|list|show|apply|remove` and `template preview` of notification kinds
against a real conversation (issue 16), on the demo desk."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskterm.store import connection
from tests.conftest import Desk

FIRST, SECOND = 1, 2  # the demo's first conversations: open, normal, unassigned


@pytest.fixture(autouse=True)
def _closed(demo_desk: None) -> None:
    connection.close_database()  # the commands open the desk themselves


def test_add_list_show_apply_remove(desk: Desk) -> None:
    said = desk.run(
        "macro", "add", "escalate", "--status", "pending", "--priority", "high",
        "--tags", "+vip -billing", "--assign", "kim",
    ).output  # fmt: skip
    assert said == "Macro 'escalate' saved.\n"
    assert desk.json("macro", "list") == [
        {
            "name": "escalate",
            "actions": [
                {"action": "tags", "value": "+vip -billing"},
                {"action": "priority", "value": "high"},
                {"action": "assign", "value": "kim"},
                {"action": "status", "value": "pending"},
            ],
            "sends": False,
        }
    ]
    assert "priority high" in desk.run("macro", "list").output
    assert (
        desk.run("macro", "show", "escalate").output.splitlines()[0] == "tags       +vip -billing"
    )
    applied = desk.json("macro", "apply", "escalate", str(FIRST), str(SECOND))
    assert [(c["status"], c["priority"], c["assignee"]) for c in applied["conversations"]] == [
        ("pending", "high", "kim"),
        ("pending", "high", "kim"),
    ]
    assert applied["queued"] == [] and applied["template_skipped"] is False
    assert desk.run("macro", "remove", "escalate").output == "Macro 'escalate' removed.\n"
    refused = desk.run("macro", "apply", "escalate", str(FIRST), ok=False)
    assert "There is no macro named 'escalate'; `deskterm macro list` shows them." in refused.output


def test_a_template_macro_from_the_shell_sends_nothing_and_says_so(
    desk: Desk, tmp_path: Path
) -> None:
    text = tmp_path / "t.txt"
    text.write_text("Hello $contact_name\n")
    desk.run("template", "add", "hello", "--file", str(text))
    desk.run("macro", "add", "greet", "--template", "hello", "--tags", "+greeted")
    said = desk.run("macro", "apply", "greet", str(FIRST)).output
    assert said == (
        f"Macro 'greet' applied to #{FIRST}; its template is inserted only from a thread, "
        "so nothing was sent.\n"
    )
    assert desk.json("outbox", "--all") == []
    assert desk.json("tag", str(FIRST))["tags"] == ["greeted"]


def test_a_bad_macro_is_one_sentence(desk: Desk) -> None:
    refused = desk.run("macro", "add", "x", "--assign", "nobody-known", ok=False)
    assert "agent list" in refused.output and "Traceback" not in refused.output
    assert desk.run("macro", "add", "y", ok=False).output.startswith(
        "deskterm: The macro does nothing"
    )


def test_preview_fills_a_kind_for_a_conversation_with_its_html(desk: Desk, tmp_path) -> None:
    [first] = [c for c in desk.json("conversations", "--status", "all") if c["id"] == FIRST]
    text, html = tmp_path / "r.txt", tmp_path / "r.html"
    text.write_text("Resolved: $subject, $contact_email\n")
    html.write_text("<p>$contact_name & $subject</p>\n")
    shown = desk.run(
        "template", "preview", "bye", "--kind", "resolved", "--file", str(text),
        "--html", str(html), "--conversation", str(FIRST), "--show-html",
    ).output  # fmt: skip
    lines = shown.splitlines()
    assert lines[0] == f"Resolved: {first['subject']}, {first['contact']}"
    assert lines[2].startswith("<p>") and lines[2].endswith("</p>")
    saved = [t for t in desk.json("template", "list") if not t["built_in"]]
    assert saved == []  # a preview saves nothing
    # A kind's built-in text, before anyone saved one:
    sla = desk.run("template", "preview", "sla_warning", "--conversation", str(FIRST)).output
    assert f"Conversation #{FIRST}" in sla and "first response" in sla
    refused = desk.run("template", "preview", "x", "--file", str(text), "--kind", "sla", ok=False)
    assert "Invalid value for '--kind'" in refused.output


def test_a_macro_sets_a_type_and_fields(desk: Desk) -> None:
    desk.run("type", "add", "billing")
    desk.run("field", "add", "billing", "order", "--kind", "text")
    desk.run("field", "add", "billing", "note", "--kind", "text")
    desk.run(
        "macro", "add", "invoice", "--type", "billing",
        "--field", "order=A-1077", "--field", "note=late, again",
    )  # fmt: skip
    assert desk.json("macro", "show", "invoice")["actions"] == [
        {"action": "type", "value": "billing"},
        {"action": "fields", "value": {"order": "A-1077", "note": "late, again"}},
    ]
    assert (
        'fields     { "note" = "late, again", "order" = "A-1077" }'
        in desk.run("macro", "show", "invoice").output
    )
    desk.run("macro", "apply", "invoice", str(FIRST))
    shown = desk.json("show", str(FIRST))
    assert shown["type"] == "billing"
    refused = desk.run("macro", "add", "bad", "--field", "order", ok=False)
    assert "'order' is not NAME=VALUE" in refused.output
