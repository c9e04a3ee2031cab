"""`deskterm conversations` lists the whole desk, whatever one mail lacked."""

from __future__ import annotations

from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection
from deskterm.store.models import Channel, Conversation
from tests.conftest import Desk
from tests.mailfactory import make_mail


def test_a_conversation_without_a_contact_does_not_break_the_list(
    desk: Desk, draft_channel: Channel
) -> None:
    """Mail with no usable From makes a conversation without a contact (issue 10, finding 15a)."""
    mails = [
        make_mail("Printer on fire", "Jane Doe <jane@customer.example>"),
        make_mail("Who sent this?", "undisclosed-recipients:;"),
    ]
    outcomes = Ingestor(draft_channel).apply(
        [Fetched(str(uid), b"", parse(raw)) for uid, raw in enumerate(mails, 1)]
    )
    nobody = outcomes[1].conversation_id
    assert Conversation.get_by_id(nobody).contact_id is None
    connection.close_database()

    rows = {row["subject"]: row for row in desk.json("conversations")}
    assert rows["Printer on fire"]["contact"] == "jane@customer.example"
    assert rows["Who sent this?"]["contact"] is None
    assert rows["Who sent this?"]["id"] == nobody

    text = desk.run("conversations").output
    assert f"#{nobody:<6} open     normal -" in text
    assert "jane@customer.example" in text


def test_the_list_shows_each_conversations_assignee(desk: Desk, demo_desk: None) -> None:
    """Issue 15: "the list shows the assignee", by handle, blank when nobody."""
    desk.run("assign", "1", "kim")
    desk.run("assign", "2", "--nobody")
    lines = {
        line.split()[0]: line
        for line in desk.run("conversations", "--status", "all").output.splitlines()
    }
    column = len("#1      open     normal ") + 29  # after the contact's 28 cells and a space
    assert lines["#1"][column:].startswith("@kim       Where is my order")
    assert lines["#2"][column - 1 : column + 11] == " " * 12  # nobody: blank
