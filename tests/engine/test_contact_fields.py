"""A contact's custom fields (issue 16: "a contact's page shows their conversations,
organization and fields"), on SQLite and on real PostgreSQL.

`contacts.describe` gathers the values of every conversation of the contact in one grouped
query: each distinct value once with its newest conversation, at most FIELD_VALUES per field;
`contact show` prints the same lines the contact's page shows, and `--json` has them whole.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from deskterm.desk import contacts, fields, types
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection
from deskterm.store.models import Channel
from tests.conftest import Desk
from tests.mailfactory import make_mail

JANE = "Jane <jane@customer.example>"
MAILS = itertools.count(1)


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`), with two types
    that both have an `order` field."""
    types.add("billing")
    types.add_field("billing", "order", "text")
    types.add_field("billing", "region", "choice", choices=["EU", "US"])
    types.add("incident")
    types.add_field("incident", "order", "text")
    return engine_channel


def conversation(channel: Channel, sender: str, kind: str | None, **values: str) -> int:
    """A new conversation from `sender` (a day after the last), of type `kind`, with values."""
    n = next(MAILS)
    date = datetime(2025, 3, 1, 9, tzinfo=UTC) + timedelta(days=n)
    mail = make_mail(f"Question {n}", sender, message_id=f"<f{n}@test.example>", date=date)
    [outcome] = Ingestor(channel).apply([Fetched(str(n), b"", parse(mail))])
    assert outcome.conversation_id is not None
    if kind:
        types.set_type(outcome.conversation_id, kind)
    for name, value in values.items():
        fields.set_value(outcome.conversation_id, name, value)
    return outcome.conversation_id


def test_a_contacts_fields_gather_their_conversations_values(channel: Channel) -> None:
    first = conversation(channel, JANE, "billing", order="A-1077", region="eu")
    second = conversation(channel, JANE, "billing", order="A-1090", region="EU")
    conversation(channel, "Tom <tom@other.example>", "billing", order="T-1", region="US")
    untyped = conversation(channel, JANE, None)
    incident = conversation(channel, JANE, "incident", order="I-5")
    found = contacts.describe("jane@customer.example")
    assert found["conversations"] == 4 and untyped
    assert found["fields"] == [
        {
            "field": "order",
            "type": "billing",
            "kind": "text",
            "values": [  # newest first; Tom's are not Jane's
                {"value": "A-1090", "conversation_id": second, "conversations": 1},
                {"value": "A-1077", "conversation_id": first, "conversations": 1},
            ],
            "more": 0,
        },
        {
            "field": "region",
            "type": "billing",
            "kind": "choice",
            "values": [{"value": "EU", "conversation_id": second, "conversations": 2}],
            "more": 0,
        },
        {
            "field": "order",
            "type": "incident",
            "kind": "text",
            "values": [{"value": "I-5", "conversation_id": incident, "conversations": 1}],
            "more": 0,
        },
    ]
    assert contacts.field_lines(found["fields"]) == [
        f"billing order: A-1090 (#{second}), A-1077 (#{first})",
        f"region: EU (#{second}, 1 other)",
        f"incident order: I-5 (#{incident})",
    ]


def test_a_fields_values_are_bounded_newest_first(channel: Channel) -> None:
    ids = [conversation(channel, JANE, "billing", order=f"A-{n}") for n in range(8)]
    [entry] = contacts.describe("jane@customer.example")["fields"]
    assert [v["conversation_id"] for v in entry["values"]] == ids[::-1][: contacts.FIELD_VALUES]
    assert entry["more"] == 8 - contacts.FIELD_VALUES
    [line] = contacts.field_lines([entry])
    assert line.startswith(f"order: A-7 (#{ids[7]}), A-6") and line.endswith(", +3 more")


def test_a_contact_without_values_has_no_fields(channel: Channel) -> None:
    conversation(channel, JANE, None)
    conversation(channel, JANE, "incident")  # typed, its field empty
    assert contacts.describe("jane@customer.example")["fields"] == []
    assert contacts.field_lines([]) == []


def test_contact_show_prints_the_fields_and_json_has_them_whole(
    channel: Channel, desk: Desk
) -> None:
    long = "[bold red]X[/] " + "L" * 60  # from mail: printed as typed, cut on the line
    cid = conversation(channel, JANE, "billing", order=long, region="US")
    connection.close_database()
    out = desk.run("contact", "show", "jane@customer.example").stdout
    assert f"  order: [bold red]X[/] {'L' * 24}… (#{cid})\n" in out
    assert f"  region: US (#{cid})\n" in out
    shown = desk.json("contact", "show", "jane@customer.example")
    assert [(f["field"], f["type"]) for f in shown["fields"]] == [
        ("order", "billing"),
        ("region", "billing"),
    ]
    assert shown["fields"][0]["values"] == [
        {"value": long, "conversation_id": cid, "conversations": 1}
    ]
