"""`deskterm reply --seen MESSAGE_ID`: a script's reply is refused when the conversation
changed after the message it read, with what came and how to send anyway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection
from deskterm.store.models import Channel, Outbox
from tests.conftest import Desk
from tests.mailfactory import make_mail


def arrives(message_id: str, body: str, in_reply_to: str | None = None) -> int:
    connection.open_database()
    raw = make_mail(
        "Printer on fire",
        "Jane Doe <jane@customer.example>",
        body=body,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    channel = Channel.get(Channel.name == "support")
    [outcome] = Ingestor(channel).apply([Fetched(message_id, b"", parse(raw))])
    connection.close_database()
    return outcome.conversation_id


def newest_message_id(desk: Desk, conversation_id: int) -> str:
    shown: dict[str, Any] = desk.json("show", str(conversation_id))
    return shown["messages"][-1]["message_id"]


def queued() -> int:
    connection.open_database()
    try:
        return Outbox.select().count()
    finally:
        connection.close_database()


def test_a_reply_after_the_message_read_is_queued_and_a_changed_one_is_refused(
    draft_channel: Channel, desk: Desk, tmp_path: Path
) -> None:
    connection.close_database()
    conversation = arrives("<p1@customer.example>", "Smoke everywhere.\n")
    answer = tmp_path / "answer.txt"
    answer.write_text("We are on it.\n")
    read = newest_message_id(desk, conversation)
    assert read == "<p1@customer.example>"
    arrives("<p2@customer.example>", "The brigade is here.\n", in_reply_to=read)

    refused = desk.run(
        "reply", str(conversation), "--body-file", str(answer), "--seen", read, ok=False
    )
    assert refused.exit_code != 0
    assert (
        f"Conversation #{conversation} changed since the reply was started (a new message "
        f"from Jane Doe); read it with `deskterm show {conversation}`, then reply again with "
        "--seen '<p2@customer.example>' to send anyway."
    ) in " ".join(refused.output.split())
    assert queued() == 0

    desk.run(
        "reply", str(conversation), "--body-file", str(answer), "--seen", "<p2@customer.example>"
    )
    assert queued() == 1


def test_an_unknown_message_id_is_refused_before_anything_is_queued(
    draft_channel: Channel, desk: Desk, tmp_path: Path
) -> None:
    connection.close_database()
    conversation = arrives("<p1@customer.example>", "Smoke everywhere.\n")
    answer = tmp_path / "answer.txt"
    answer.write_text("We are on it.\n")
    refused = desk.run(
        "reply", str(conversation), "--body-file", str(answer), "--seen", "<nope@x>", ok=False
    )
    assert refused.exit_code != 0
    assert f"Conversation #{conversation} has no message '<nope@x>'" in refused.output
    assert queued() == 0
