"""Conversation types and custom fields (issue 16), on SQLite and the suite's real PostgreSQL:
definitions, typed values, admins, the list's filters and search, and a type's change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskterm.desk import agents, fields, list_index, queries, types
from deskterm.desk.filters import parse_filters
from deskterm.errors import ConfigError
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection, migrations
from deskterm.store.models import Channel, Conversation, FieldValue
from tests.conftest import Desk
from tests.mailfactory import make_mail


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


@pytest.fixture
def billing(channel: Channel) -> str:
    types.add("billing", "Invoices and payments")
    types.add_field("billing", "order", "text")
    types.add_field("billing", "amount", "number", restricted=True)
    types.add_field("billing", "due", "date")
    types.add_field("billing", "plan", "choice", choices=["Basic", "Pro"], default="basic")
    types.add_field("billing", "owner", "agent")
    types.add_field("billing", "account", "text", required=True, default="unknown")
    return "billing"


def new_conversation(channel: Channel, subject: str = "Invoice 7 is wrong") -> int:
    mail = make_mail(subject, date=datetime(2025, 3, 3, 9, tzinfo=UTC))
    [outcome] = Ingestor(channel).apply([Fetched("1", b"", parse(mail))])
    assert outcome.conversation_id is not None
    return outcome.conversation_id


def values(conversation_id: int) -> dict[str, str | None]:
    detail = queries.conversation_detail(conversation_id)
    return {f["name"]: f["value"] for f in detail["fields"]}


def test_a_typed_conversation_gets_its_fields_defaults_and_keeps_values_in_one_spelling(
    channel: Channel, billing: str
) -> None:
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    cid = new_conversation(channel)
    assert types.set_type(cid, "Billing") == "billing"
    assert values(cid) == {
        "order": None,
        "amount": None,
        "due": None,
        "plan": "Basic",
        "owner": None,
        "account": "unknown",
    }
    assert fields.set_value(cid, "amount", "09.50") == "9.5"
    assert fields.set_value(cid, "due", "2025-04-01") == "2025-04-01"
    assert fields.set_value(cid, "PLAN", "pro") == "Pro"
    assert fields.set_value(cid, "owner", "@KIM") == "kim"
    assert fields.set_value(cid, "order", "  A-77\x1b[31m\n ") == "A-77[31m"
    detail = queries.conversation_detail(cid)
    assert detail["type"] == "billing"
    assert values(cid)["amount"] == "9.5"
    [row] = queries.list_conversations("all")
    assert row["type"] == "billing"
    assert row["fields"]["owner"] == "kim"


@pytest.mark.parametrize(
    ("name", "value", "refused"),
    [
        ("amount", "nine", "amount takes a number"),
        ("amount", "inf", "amount takes a number"),
        ("due", "01/04/2025", "due takes a date written 2024-01-31"),
        ("plan", "gold", "plan takes one of Basic, Pro"),
        ("owner", "mallory", "No agent is called 'mallory'"),
        ("account", "", "account is required"),
        ("colour", "red", "its fields: order, amount, due, plan, owner, account"),
    ],
)
def test_a_value_its_field_does_not_take_is_refused_and_nothing_changes(
    channel: Channel, billing: str, name: str, value: str, refused: str
) -> None:
    cid = new_conversation(channel)
    types.set_type(cid, "billing")
    before = values(cid)
    with pytest.raises(ConfigError, match=refused):
        fields.set_value(cid, name, value)
    assert values(cid) == before


def test_an_untyped_conversation_has_no_fields_and_says_how_to_give_it_a_type(
    channel: Channel, billing: str
) -> None:
    cid = new_conversation(channel)
    assert queries.conversation_detail(cid)["fields"] == []
    with pytest.raises(ConfigError, match=f"deskterm type set {cid} TYPE"):
        fields.set_value(cid, "order", "A-1")


def test_only_admins_change_restricted_fields_and_definitions_once_the_desk_names_one(
    channel: Channel, billing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    agents.add("sam@desk.example", "Sam Roe", handle="sam")
    cid = new_conversation(channel)
    types.set_type(cid, "billing")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    assert fields.set_value(cid, "amount", "5") == "5"  # no admin named yet: everyone is one
    agents.set_admin("kim")
    with pytest.raises(ConfigError, match="Only an admin may change amount"):
        fields.set_value(cid, "amount", "6")
    with pytest.raises(ConfigError, match="Only an admin may define conversation types"):
        types.add("incident")
    assert fields.set_value(cid, "order", "A-9") == "A-9"  # not restricted: any agent
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    assert fields.set_value(cid, "amount", "6") == "6"
    assert values(cid)["amount"] == "6"


def test_the_list_filters_by_type_and_field_and_the_search_finds_a_field_value(
    channel: Channel, billing: str
) -> None:
    first = new_conversation(channel, "Invoice one")
    second = new_conversation(channel, "Invoice two")
    untyped = new_conversation(channel, "Just a question")
    for cid in (first, second):
        types.set_type(cid, "billing")
    fields.set_value(first, "order", "A-100")
    fields.set_value(second, "amount", "12.50")

    def ids(**chosen: str) -> set[int]:
        return set(list_index.conversation_ids("all", **chosen))

    assert ids(type="billing") == {first, second}
    assert ids(type="none") == {untyped}
    assert ids(field="order=a-100") == {first}
    assert ids(field="amount=12.5000") == {second}
    assert ids(field="order=") == {second, untyped}
    assert ids(search="A-100") == {first}
    assert {r["id"] for r in queries.list_conversations("all", field="plan=basic")} == {
        first,
        second,
    }
    assert parse_filters("type:Billing field:order=A-100") == {
        "type": "billing",
        "field": "order=A-100",
    }
    with pytest.raises(ConfigError, match="There is no type 'nope'"):
        parse_filters("type:nope")
    with pytest.raises(ConfigError, match="No type has a field 'colour'"):
        parse_filters("field:colour=red")


def test_changing_the_type_keeps_values_the_new_type_takes_and_a_channel_limits_types(
    channel: Channel, billing: str
) -> None:
    types.add("refund")
    types.add_field("refund", "order", "number")
    types.add_field("refund", "reason", "text", default="unsaid")
    cid = new_conversation(channel)
    types.set_type(cid, "billing")
    fields.set_value(cid, "order", "42")
    assert types.set_type(cid, "refund") == "refund"
    assert values(cid) == {"order": "42", "reason": "unsaid"}
    fields.set_value(cid, "reason", "double charge")
    types.set_type(cid, "billing")
    assert values(cid)["order"] == "42"  # a text field takes the number's text
    assert types.set_type(cid, None) is None
    assert FieldValue.select().where(FieldValue.conversation == cid).count() == 0

    settings = dict(channel.settings)
    settings["tickets"] = {**settings["tickets"], "types": ["billing"]}
    Channel.update(settings=settings).where(Channel.id == channel.id).execute()
    with pytest.raises(ConfigError, match="allows only the types billing; refund is not"):
        types.set_type(cid, "refund")
    assert types.set_type(cid, "billing") == "billing"


def test_removing_a_type_leaves_its_conversations_untyped(channel: Channel, billing: str) -> None:
    cid = new_conversation(channel)
    types.set_type(cid, "billing")
    assert types.remove("billing") == 1
    assert Conversation.get_by_id(cid).conversation_type_id is None
    assert FieldValue.select().count() == 0
    assert queries.conversation_detail(cid)["type"] is None


def test_a_type_is_described_anew_and_a_fields_choices_default_and_marks_change(
    channel: Channel, billing: str
) -> None:
    types.edit("Billing", " Money\nmatters ")
    assert types.describe(types.get("billing"))["description"] == "Money matters"
    cid = new_conversation(channel)
    types.set_type(cid, "billing")
    types.edit_field("billing", "plan", choices=["Basic", "Pro", "Gold"], default="GOLD")
    changed = types.edit_field("billing", "amount", required=True)
    assert (changed.required, changed.restricted) == (True, False)
    item = {f["name"]: f for f in types.describe(types.get("billing"))["fields"]}["plan"]
    assert (item["choices"], item["default"]) == (["Basic", "Pro", "Gold"], "Gold")
    assert values(cid)["plan"] == "Basic"  # a new default is for conversations typed later
    with pytest.raises(ConfigError, match="plan takes one of Basic, Pro, Gold"):
        types.edit_field("billing", "plan", choices=["Basic", "Pro", "Gold"], default="Silver")
    with pytest.raises(ConfigError, match=r"1 conversation\(s\) hold plan = Basic; keep"):
        types.edit_field("billing", "plan", choices=["Pro", "Gold"])
    assert types.get_field("billing", "plan").choices == ["Basic", "Pro", "Gold"]
    fields.set_value(cid, "plan", "pro")
    types.edit_field("billing", "plan", choices=["Pro", "Gold"])  # nobody holds Basic now
    assert types.get_field("billing", "plan").default is None
    with pytest.raises(ConfigError, match="Only a choice field has choices; order is a text"):
        types.edit_field("billing", "order", choices=["A"])


def test_a_refusal_naming_a_setting_is_worded_by_each_interface_from_one_template(
    channel: Channel, billing: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        types.edit_field("billing", "plan", choices=[])
    assert str(caught.value) == "A choice field needs its choices; give them with choices."
    worded = caught.value.worded({"choices": "--choice VALUE"})
    assert worded == "A choice field needs its choices; give them with --choice VALUE."
    odd = ConfigError.naming("{name} needs {setting.first_response}.", name="{setting.x} {0}")
    assert odd.worded({"first_response": "F", "x": "X"}) == "{setting.x} {0} needs F."


@pytest.mark.postgres
def test_a_version_9_desk_gets_types_and_fields_and_keeps_its_conversations(
    pg: str, desk: Desk
) -> None:
    """As the previous deskterm left a PostgreSQL desk: no type column, no field tables."""
    database = connection.open_database(migrate=False)
    migrations.migrate(database, migrations.MIGRATIONS[:9])
    for table in ("field_value", "type_field", "conversation_type"):
        database.execute_sql(f'DROP TABLE "{table}" CASCADE')
    database.execute_sql('ALTER TABLE "conversation" DROP COLUMN "type_id"')
    database.execute_sql('ALTER TABLE "agent" DROP COLUMN "admin"')
    database.execute_sql(
        "INSERT INTO channel (uid, name, status, settings, paused, fail_count, created_at, "
        "updated_at) VALUES ('u1', 'support', 'draft', '{}', false, 0, now(), now())"
    )
    database.execute_sql(
        "INSERT INTO conversation (channel_id, subject, status, priority, unread, "
        'message_count, email_subject, "references", cc, created_at, updated_at) '
        "SELECT id, 'Old one', 'open', 'normal', true, 0, '', '[]', '[]', now(), now() "
        "FROM channel"
    )
    connection.close_database()

    connection.open_database()
    [old] = Conversation.select()
    assert old.conversation_type_id is None
    types.add("billing")
    types.add_field("billing", "order", "text")
    types.set_type(old.id, "billing")
    fields.set_value(old.id, "order", "A-1")
    assert values(old.id) == {"order": "A-1"}
