"""Who wrote each reply (issue 15): the agent at the keyboard is recorded on the message when
it is queued, by `deskterm reply`, the composer and a macro alike, and the thread and `show
--json` name them ("Kim Lee replied"); on SQLite and on the suite's real PostgreSQL."""

# ruff: noqa: F811
from __future__ import annotations

import pytest

from deskterm.desk import agents, macros, queries, reply_authors, templates
from deskterm.outbound import forward, replies
from deskterm.outbound import macros as applying
from deskterm.store.models import Agent, Message

# The same desk on either engine and its agents, as the collision tests make them: pytest
# finds fixtures by name in this module, so the parameters below "redefine" the imports.
from tests.engine.test_collision import channel, conversation, kim, sam  # noqa: F401


def outgoing(conversation_id: int) -> list[dict[str, object]]:
    detail = queries.conversation_detail(conversation_id)
    return [m for m in detail["messages"] if m["direction"] == "out"]


def test_a_reply_records_the_agent_at_the_keyboard_and_the_thread_names_them(
    conversation: int, kim: Agent, sam: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    first = replies.queue_reply(conversation, "We are on it.")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    second = replies.queue_reply(conversation, "Sam here, still on it.")
    assert [Message.get_by_id(m.id).agent for m in (first, second)] == ["kim", "sam"]
    shown = [(m["agent"], m["agent_name"], m["sent_by"]) for m in outgoing(conversation)]
    assert shown == [
        ("kim", "Kim Lee", "Kim Lee replied"),
        ("sam", "Sam Berg", "Sam Berg replied"),
    ]
    received = queries.conversation_detail(conversation)["messages"][0]
    assert (received["direction"], received["agent"], received["sent_by"]) == ("in", None, None)


def test_a_macro_that_sends_records_who_applied_it(
    conversation: int, kim: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    templates.save("closing", "Hello $contact_name, done.")
    macros.save("answer", [("send", "closing")])
    [sent] = applying.apply(conversation, "answer").sent
    assert Message.get_by_id(sent.id).agent == "kim"


def test_automatic_unknown_and_forwarded_mail_say_so(
    conversation: int, kim: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    ack = replies.queue_reply(conversation, "We got your mail.", status=None, automatic=True)
    older = replies.queue_reply(conversation, "Sent before authors were kept.")
    Message.update(agent=None).where(Message.id == older.id).execute()  # as v15 leaves them
    customers = Message.get(Message.conversation == conversation, Message.direction == "in")
    forwarded_id = forward.queue_forward(customers.id, "expert@partner.example").message_id
    by_id = {m["message_id"]: m for m in outgoing(conversation)}
    assert by_id[ack.message_id]["agent"] is None
    assert by_id[ack.message_id]["sent_by"] == reply_authors.AUTOMATIC
    assert by_id[older.message_id]["sent_by"] == reply_authors.UNKNOWN
    forwarded = by_id[forwarded_id]
    assert (forwarded["agent"], forwarded["sent_by"]) == ("kim", "Kim Lee forwarded this")


def test_a_removed_agents_replies_keep_their_handle(
    conversation: int, kim: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    replies.queue_reply(conversation, "We are on it.")
    monkeypatch.delenv("DESKTERM_AGENT")
    agents.remove("kim")
    [reply] = outgoing(conversation)
    assert (reply["agent"], reply["agent_name"], reply["sent_by"]) == ("kim", None, "@kim replied")


def test_on_a_desk_without_agents_an_unrecorded_author_goes_unsaid(conversation: int) -> None:
    replies.queue_reply(conversation, "We are on it.")
    [reply] = outgoing(conversation)
    assert (reply["agent"], reply["sent_by"]) == (None, None)
