"""`deskterm note`, `deskterm mentions` and notes in `deskterm show` (issue 15)."""

from __future__ import annotations

import pytest

from deskterm.desk import agents
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection
from deskterm.store.models import Channel
from tests.cli.test_completion import complete
from tests.conftest import Desk
from tests.mailfactory import make_mail


@pytest.fixture
def printer(engine_channel: Channel, monkeypatch: pytest.MonkeyPatch) -> str:
    """One conversation, and two agents: Kim at the keyboard, Sam; on each engine's desk
    (tests/conftest.py `engine`)."""
    [outcome] = Ingestor(engine_channel).apply(
        [Fetched("1", b"", parse(make_mail("Printer on fire", "Jane <jane@customer.example>")))]
    )
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    agents.add("sam@desk.example", "Sam Roe", handle="sam")
    connection.close_database()
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    return str(outcome.conversation_id)


def test_a_note_from_the_command_line_or_stdin_shows_in_show(desk: Desk, printer: str) -> None:
    said = desk.run("note", printer, "Called her back, @Sam: \x1b[31mred\x1b[0m").output
    assert said == f"Note added to #{printer}, mentioning @sam.\n"
    desk.run("note", printer, "-", input="line one\nline two\n")

    shown = desk.json("show", printer)["messages"]
    assert [m["direction"] for m in shown] == ["in", "note", "note"]
    assert shown[1]["author"] == "kim" and shown[1]["author_name"] == "Kim Lee"
    assert shown[1]["text"] == "Called her back, @Sam: [31mred[0m"  # no ESC stored
    assert shown[2]["text"] == "line one\nline two"

    text = desk.run("show", printer).output
    assert "\x1b" not in text
    assert "== Note by Kim Lee (@kim) · internal, never sent" in text
    assert "   | line one\n   | line two\n" in text


def test_an_empty_note_is_refused_in_one_sentence(desk: Desk, printer: str) -> None:
    result = desk.run("note", printer, "  ", ok=False)
    assert result.exit_code == 1
    assert result.stderr == "deskterm: The note is empty; write something first.\n"
    assert [m["direction"] for m in desk.json("show", printer)["messages"]] == ["in"]


def test_mentions_lists_yours_unseen_and_seen_marks_them(
    desk: Desk, printer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.run("note", printer, "@sam can you look at the toner?")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    [mention] = desk.json("mentions")
    assert mention["conversation"]["id"] == int(printer) and not mention["seen"]
    assert mention["note"]["author"] == "kim"
    text = desk.run("mentions").output
    assert f"* #{printer:<6}" in text and "Kim Lee: Printer on fire" in text
    assert "@sam can you look at the toner?" in text

    assert (
        desk.run("mentions", "--seen", printer).output == f"1 mention in #{printer} marked seen.\n"
    )
    assert desk.json("mentions") == []
    assert [m["seen"] for m in desk.json("mentions", "--all")] == [True]
    assert desk.run("mentions").output.startswith("No unseen mentions")
    assert desk.json("mentions", "--agent", "kim") == []


def test_mentions_without_an_agent_says_how_to_name_one(
    desk: Desk, printer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESKTERM_AGENT")
    result = desk.run("mentions", ok=False)
    assert result.exit_code == 1
    assert "set DESKTERM_AGENT to your handle" in result.stderr


def test_the_shell_completes_the_new_commands() -> None:
    assert complete("not") == ["plain,note"]
    assert complete("men") == ["plain,mentions"]
    assert "plain,--all" in complete("mentions", "--")
