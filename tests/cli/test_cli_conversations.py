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
