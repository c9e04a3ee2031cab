"""`deskterm template list|show` (issue 16): an empty desk says how to add a template, and the
built-in notification texts an admin may override are listed, marked, until overridden."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Desk

BUILT_IN = ["invitation", "reply_notification", "resolved", "sla_warning"]


def test_an_empty_desk_says_how_to_add_one_and_lists_the_built_in_texts(desk: Desk) -> None:
    lines = desk.run("template", "list").output.splitlines()
    assert lines[0] == (
        "No templates saved yet; `deskterm template add NAME --file reply.txt` adds one "
        "(the built-in texts below are sent until one of that name is saved)."
    )
    assert [line.split()[0] for line in lines[1:]] == BUILT_IN
    assert all(line.endswith(" (built-in)") for line in lines[1:])
    rows = desk.json("template", "list")
    assert [(r["name"], r["kind"], r["built_in"]) for r in rows] == [
        (name, name, True) for name in BUILT_IN
    ]
    assert all(set(r) == {"name", "body", "kind", "html", "built_in"} for r in rows)
    assert all(r["body"] and r["html"] is None for r in rows)


def test_a_saved_template_of_a_built_in_name_replaces_its_row(desk: Desk, tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("Due: $due_at\n")
    desk.run("template", "add", "sla_warning", "--file", str(text))
    text.write_text("Hello $contact_name\n")
    desk.run("template", "add", "hello", "--file", str(text))
    rows = {r["name"]: r for r in desk.json("template", "list")}
    assert list(rows) == ["hello", "invitation", "reply_notification", "resolved", "sla_warning"]
    assert rows["sla_warning"]["built_in"] is False
    assert rows["sla_warning"]["body"] == "Due: $due_at\n"
    assert rows["hello"]["built_in"] is False and rows["resolved"]["built_in"] is True
    lines = desk.run("template", "list").output.splitlines()
    assert not lines[0].startswith("No templates")  # something is saved
    marked = [line.split()[0] for line in lines if line.endswith(" (built-in)")]
    assert marked == ["invitation", "reply_notification", "resolved"]


def test_show_prints_a_built_in_text_until_it_is_overridden(desk: Desk) -> None:
    shown = desk.run("template", "show", "resolved").stdout
    assert shown.startswith("Hello $contact_name,\n\nWe have marked your request")
    missing = desk.run("template", "show", "nope", ok=False)
    assert "There is no template named 'nope'" in missing.stderr
