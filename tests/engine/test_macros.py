"""Macros (issue 16): defined, checked, applied to one conversation or to several with one
undo, on SQLite and on the suite's real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskterm.desk import agents, macros, templates, triage
from deskterm.desk.undo import History
from deskterm.errors import ConfigError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.outbound import macros as applying
from deskterm.store.models import Channel, Conversation, Message, Outbox
from tests.engine.test_notes import fetched
from tests.mailfactory import make_mail


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


@pytest.fixture
def conversations(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Three conversations from three customers; Kim is at the keyboard."""
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    agents.add("sam@desk.example", "Sam Roe", handle="sam")
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    mails = [
        make_mail(
            f"Question {n}",
            f"Customer {n} <c{n}@customer.example>",
            message_id=f"<m{n}@customer.example>",
            date=datetime(2025, 3, n, 9, tzinfo=UTC),
        )
        for n in (1, 2, 3)
    ]
    outcomes = Ingestor(channel).apply(fetched(*mails))
    return [o.conversation_id for o in outcomes if o.conversation_id is not None]


def test_a_macro_applies_its_actions_and_one_undo_takes_them_back(
    conversations: list[int],
) -> None:
    macros.save(
        "escalate",
        [("status", "pending"), ("priority", "high"), ("tags", "+vip"), ("assign", "sam")],
    )
    first = conversations[0]
    history = History()
    done = applying.apply(first, "escalate", history=history)
    assert triage.state(first) == {
        "id": first,
        "status": "pending",
        "priority": "high",
        "assignee": "sam",
        "unread": True,
        "tags": ["vip"],
    }
    assert done.sent == [] and "#" + str(first) in done.sentence()
    assert len(history) == 1  # one entry for the whole macro
    triage.undo(history)
    state = triage.state(first)
    assert (state["status"], state["priority"], state["assignee"], state["tags"]) == (
        "open",
        "normal",
        None,
        [],
    )


def test_a_macro_on_several_conversations_is_one_undo(conversations: list[int]) -> None:
    macros.save("mine", [("assign", "me"), ("tags", "+billing")])
    history = History()
    done = applying.apply_all(conversations, "mine", history=history)
    assert "3 conversations" in done.sentence()
    assert [triage.state(c)["assignee"] for c in conversations] == ["kim"] * 3
    assert len(history) == 1
    assert triage.undo(history) == "3 conversations are as they were."
    assert [triage.state(c)["assignee"] for c in conversations] == [None] * 3
    assert [triage.state(c)["tags"] for c in conversations] == [[]] * 3


def test_a_template_action_on_several_queues_nothing_and_fills_the_composer_alone(
    conversations: list[int],
) -> None:
    templates.save("thanks", "Hello $contact_name, thank you.")
    macros.save("thank", [("template", "thanks"), ("status", "pending")])
    done = applying.apply_all(conversations, "thank")
    assert done.template_text is None and done.template_skipped
    assert "nothing was sent" in done.sentence()
    assert Outbox.select().count() == 0
    one = applying.apply(conversations[0], "thank", insert_template=True)
    assert one.template_text == "Hello Customer 1, thank you."
    assert Outbox.select().count() == 0


def test_a_send_macro_queues_its_reply_on_each(conversations: list[int]) -> None:
    templates.save("closing", "Hello $contact_name, done.")
    macros.save("answer-and-resolve", [("send", "closing"), ("status", "resolved")])
    done = applying.apply_all(conversations[:2], "answer-and-resolve")
    assert len(done.sent) == 2
    queued = [(o.recipient, o.kind) for o in Outbox.select().order_by(Outbox.id)]
    assert queued == [("c1@customer.example", "reply"), ("c2@customer.example", "reply")]
    texts = [m.text for m in Message.select().where(Message.direction == "out")]
    assert texts == ["Hello Customer 1, done.", "Hello Customer 2, done."]
    assert [Conversation.get_by_id(c).status for c in conversations[:2]] == ["resolved"] * 2


def test_a_macro_is_checked_when_saved(conversations: list[int]) -> None:
    with pytest.raises(ConfigError, match="Priority 'urgent' is not known"):
        macros.save("bad", [("priority", "urgent")])
    with pytest.raises(NotFound, match="agent list"):
        macros.save("bad", [("assign", "nobody-here")])
    with pytest.raises(NotFound, match="no template named 'missing'"):
        macros.save("bad", [("send", "missing")])
    with pytest.raises(ConfigError, match="does nothing"):
        macros.save("bad", [])
    templates.save("resolved-note", "Done, $contact_name.", kind="resolved")
    with pytest.raises(ConfigError, match="is a resolved template"):
        macros.save("bad", [("template", "resolved-note")])
    assert macros.all_macros() == []


def test_a_failing_action_changes_none_of_the_conversations(conversations: list[int]) -> None:
    macros.save("hand-over", [("priority", "high"), ("assign", "sam")])
    agents.remove("sam")  # the macro now names an agent who is gone
    with pytest.raises(NotFound):
        applying.apply_all(conversations, "hand-over")
    assert [triage.state(c)["priority"] for c in conversations] == ["normal"] * 3


def test_the_actions_run_in_their_fixed_order_whatever_order_they_were_given(
    conversations: list[int],
) -> None:
    row = macros.save("x", [("status", "closed"), ("tags", "a"), ("priority", "low")])
    assert [a for a, _ in macros.actions_of(row)] == ["tags", "priority", "status"]
    assert macros.describe(row)["sends"] is False


# --- the ticket's type and fields, by the routing rules' own actions ------------------------


def test_a_macro_sets_the_type_then_that_types_fields(conversations: list[int]) -> None:
    from deskterm.desk import field_values, queries, types

    types.add("billing")
    types.add_field("billing", "order", "text")
    types.add_field("billing", "region", "choice", choices=["eu", "us"])
    row = macros.save(
        "invoice",
        [("fields", "order=A-1077, region=eu"), ("type", "billing"), ("priority", "high")],
    )
    # Stored in their fixed order, the fields as a rule's `fields` action keeps them.
    assert macros.actions_of(row) == [
        ("type", "billing"),
        ("fields", {"order": "A-1077", "region": "eu"}),
        ("priority", "high"),
    ]
    assert macros.summary(row) == "type billing, fields order=A-1077, region=eu, priority high"
    done = applying.apply_all(conversations[:2], "invoice", history=History())
    assert "undo does not take back the type and fields" in done.sentence()
    for cid in conversations[:2]:
        conversation = queries.get_conversation(cid)
        assert types.type_of(conversation) == "billing"
        values = {v["name"]: v["value"] for v in field_values.values_of(conversation)}
        assert values == {"order": "A-1077", "region": "eu"}
    assert types.type_of(queries.get_conversation(conversations[2])) is None


def test_a_macros_type_and_fields_are_checked_when_saved_and_when_applied(
    conversations: list[int],
) -> None:
    from deskterm.desk import types

    with pytest.raises(NotFound, match="type"):
        macros.save("bad", [("type", "nonesuch")])
    with pytest.raises(ConfigError, match="not NAME=VALUE"):
        macros.save("bad", [("fields", "order")])
    with pytest.raises(ConfigError, match="fields must be a table"):
        macros.save("bad", [("fields", "")])
    # A value holding a comma is written as a TOML table, and read back the same.
    row = macros.save("note", [("fields", '{ note = "late, again" }')])
    assert macros.actions_of(row) == [("fields", {"note": "late, again"})]
    assert macros.parse_fields(macros.fields_text({"note": "late, again"})) == {
        "note": "late, again"
    }
    # Which fields exist depends on the type, known when applied: refused then, all or none.
    types.add("billing")
    types.add_field("billing", "order", "text")
    macros.save("half", [("type", "billing"), ("fields", "nonesuch=1"), ("priority", "low")])
    with pytest.raises(ConfigError, match="has no field 'nonesuch'"):
        applying.apply_all(conversations, "half")
    assert [triage.state(c)["priority"] for c in conversations] == ["normal"] * 3
    from deskterm.desk import queries

    assert types.type_of(queries.get_conversation(conversations[0])) is None
