"""Moving a SQLite desk into the suite's real PostgreSQL (deskterm.store.move): every table
row for row with its ids, sequences past them, safe to run again, and the refusals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import peewee
import psycopg2
import pytest

from deskterm.errors import DeskError
from deskterm.store import connection, migrations, move
from deskterm.store.db import database
from deskterm.store.models import (
    ALL_MODELS,
    Agent,
    ChannelLead,
    Contact,
    ContactAlias,
    Conversation,
    ConversationTag,
    ConversationType,
    FieldValue,
    FolderState,
    JobRun,
    Macro,
    Mention,
    Message,
    Note,
    Organization,
    OrganizationDomain,
    Outbox,
    Outcome,
    Pop3Seen,
    Presence,
    RoutingRule,
    RuleMatch,
    SlaNotice,
    SlaPolicy,
    Template,
    TimeEntry,
    TypeField,
)

pytestmark = pytest.mark.postgres


def _fill_every_table() -> None:
    """The demo desk has conversations, messages, attachments and skipped mail; the rest of
    the model gets a row or two here, so that each table is really copied."""
    channel = Conversation.select().first().channel
    conversation = Conversation.select().order_by(Conversation.id).first()
    message = Message.select().order_by(Message.id).first()
    org = Organization.create(name="Acme")
    OrganizationDomain.create(domain="acme.example", organization=org)
    contact = Contact.select().first()
    ContactAlias.create(email="other@acme.example", contact=contact)
    # The demo's team (sam, alex, kim) is there already: two more, one with every field.
    kim = Agent.create(handle="kit", name="Kit Lee", email="kit@desk.example", login="kit")
    note = Note.create(conversation=conversation, author=kim, text="Call them @sid\x00")
    sam = Agent.create(handle="sid", name="Sid")
    Mention.create(note=note, agent=sam)
    Presence.create(conversation=conversation, agent=kim, session="host:1", activity="viewing")
    ChannelLead.create(channel=channel, host="host", pid=1)
    Outbox.create(message=message, channel=channel, recipient="a@b.example")
    ConversationTag.create(conversation=conversation, tag="vip")
    Template.create(name="thanks", body="Thanks, $contact_name")
    JobRun.create(channel=channel, fetched=3, ingested=2)
    FolderState.create(
        channel=channel, folder="INBOX", uidvalidity=7, last_uid=42, first_sync_on=date(2024, 3, 1)
    )
    Pop3Seen.create(channel=channel, uidl="uidl-1")
    billing = ConversationType.create(name="billing", description="Invoices")
    order = TypeField.create(conversation_type=billing, name="order", kind="text")
    Conversation.update(conversation_type=billing).where(
        Conversation.id == conversation.id
    ).execute()
    FieldValue.create(conversation=conversation, type_field=order, value="A-1", key="a-1")
    policy = SlaPolicy.create(name="urgent", priority="high", first_response_minutes=60)
    policy.hours, policy.holidays = [[[540, 1020]]] * 5 + [[], []], ["2025-12-25"]
    policy.save()
    SlaNotice.create(
        conversation=conversation, target="first_response", kind="breach", due_at=date(2025, 1, 1)
    )
    rule = RoutingRule.create(
        name="vip",
        channel=channel,
        position=1,
        conditions={"when": {"from": ["*@acme.example"]}},
        actions={"assign_round_robin": ["sam", "kim"]},
        turn=3,
    )
    RuleMatch.create(message=message, rule=rule, rule_name="vip", applied={"assign": "kim"})
    Macro.create(name="close", actions=[{"action": "status", "value": "resolved"}])
    TimeEntry.create(conversation=conversation, agent="kim", seconds=60, note="a call")
    Outcome.create(conversation=conversation, first_at=date(2024, 3, 1), first_seconds=60)


@pytest.fixture
def sqlite_desk(demo_desk: None) -> None:
    connection.open_database()
    _fill_every_table()
    connection.close_database()


def _rows(db: peewee.Database) -> dict[str, list[tuple[object, ...]]]:
    found = {}
    for model in ALL_MODELS:
        query = model.select(*model._meta.sorted_fields).order_by(model._meta.primary_key)
        found[model._meta.table_name] = list(query.tuples().execute(db))
    return found


def _open(url: str | None) -> peewee.Database:
    db = connection.url_database(url, "test") if url else connection.sqlite_database()
    db.connect()
    return db


def test_every_table_is_copied_row_for_row_with_its_ids(
    sqlite_desk: None, pg_desk_url: str
) -> None:
    counted: list[move.TableCount] = []
    result = move.move_desk(pg_desk_url, batch_rows=3, on_table=counted.append)
    assert not result.resumed and result.verified
    source, target = _open(None), _open(pg_desk_url)
    before, after = _rows(source), _rows(target)
    assert [name for name in before if not before[name]] == [], "every table has rows"
    assert after.pop("presence") == []  # what apps had open is not the moved desk's
    for name in after:
        expected = [
            tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
            for row in before[name]
        ]
        assert after[name] == expected, name
    assert [c.table for c in counted] == [m._meta.table_name for m in move.MOVED]
    assert all(c.source == c.target == c.copied == len(before[c.table]) for c in counted)
    assert result.copied == sum(len(before[name]) for name in after)
    source.close()
    target.close()


def test_an_orphan_presence_row_is_left_behind_and_the_move_verifies(
    sqlite_desk: None, pg_desk_url: str
) -> None:
    """On SQLite presence sits in its own file, without foreign keys (store/presence_file.py):
    a row of a conversation deleted since (or of an agent removed) is there until swept.
    PostgreSQL's foreign keys would refuse it; presence is not the desk's to move anyway."""
    connection.open_database()
    kim = Agent.get(Agent.handle == "kim")
    gone = Conversation.create(channel=Conversation.select().first().channel, subject="gone")
    Presence.create(conversation=gone, agent=kim, session="host:2", activity="replying")
    Conversation.delete().where(Conversation.id == gone.id).execute()
    orphans = Presence.select().where(Presence.conversation == gone.id).count()
    connection.close_database()
    assert orphans == 1  # no foreign key took it away with its conversation

    result = move.move_desk(pg_desk_url)
    assert result.verified
    assert "presence" not in [t.table for t in result.tables]
    target = _open(pg_desk_url)
    assert Presence.select().count(target) == 0
    assert Conversation.select().where(Conversation.id == gone.id).count(target) == 0
    target.close()


def test_a_new_conversation_after_the_move_gets_a_fresh_id(
    sqlite_desk: None, pg_desk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    move.move_desk(pg_desk_url)
    monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
    connection.open_database()
    highest = Conversation.select(peewee.fn.MAX(Conversation.id)).scalar()
    channel = Conversation.get_by_id(highest).channel
    fresh = Conversation.create(channel=channel, subject="after the move")
    note = Note.create(conversation=fresh, text="new")
    assert fresh.id == highest + 1
    assert note.id == Note.select(peewee.fn.MAX(Note.id)).where(Note.id < note.id).scalar() + 1


def test_running_it_again_copies_nothing_and_still_verifies(
    sqlite_desk: None, pg_desk_url: str
) -> None:
    move.move_desk(pg_desk_url)
    again = move.move_desk(pg_desk_url)
    assert again.resumed and again.verified and again.copied == 0


def test_an_interrupted_move_is_completed_by_the_next_run(
    sqlite_desk: None, pg_desk_url: str
) -> None:
    move.move_desk(pg_desk_url)
    target = _open(pg_desk_url)
    # What a move stopped inside the conversation table leaves: the tables before it whole,
    # half of it (batches commit in id order), nothing of the tables after it.
    at = ALL_MODELS.index(Conversation)
    for model in reversed(ALL_MODELS[at + 1 :]):
        model.delete().execute(target)
    middle = Conversation.select(peewee.fn.MAX(Conversation.id)).scalar(target) // 2
    Conversation.delete().where(Conversation.id > middle).execute(target)
    target.close()

    done = move.move_desk(pg_desk_url, batch_rows=4)
    assert done.resumed and done.verified and done.copied > 0
    source, target = _open(None), _open(pg_desk_url)
    assert _rows(target)["message"] == _rows(source)["message"]
    source.close()
    target.close()


def test_a_target_holding_another_desk_is_refused_and_left_as_it_was(
    sqlite_desk: None, pg_desk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deskterm.channels import config, registry
    from deskterm.demo.desk import CHANNEL_CONFIG

    with monkeypatch.context() as env:
        env.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
        connection.open_database()
        # The demo's own channel file, so the same name: only the uid tells the desks apart.
        registry.add(config.validate(CHANNEL_CONFIG))
        connection.close_database()
    with pytest.raises(DeskError, match="already holds another desk"):
        move.move_desk(pg_desk_url)
    target = _open(pg_desk_url)
    assert Conversation.select().count(target) == 0
    target.close()


def test_a_database_of_something_else_is_refused(sqlite_desk: None, pg_desk_url: str) -> None:
    conn = psycopg2.connect(pg_desk_url)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE invoices (id serial primary key)")
    conn.close()
    with pytest.raises(DeskError, match=r"not a deskterm desk; give .* an empty database"):
        move.move_desk(pg_desk_url)


def test_a_desk_of_a_newer_deskterm_is_refused(sqlite_desk: None, pg_desk_url: str) -> None:
    target = _open(pg_desk_url)
    database.initialize(target)
    migrations.migrate(target)
    migrations.SchemaVersion.update(version=len(migrations.MIGRATIONS) + 1).execute()
    target.close()
    with pytest.raises(DeskError, match=r"newer deskterm .*upgrade deskterm"):
        move.move_desk(pg_desk_url)


@pytest.mark.sqlite_only("`db migrate` moves an SQLite desk")
def test_an_unreachable_server_is_one_sentence_without_the_password(sqlite_desk: None) -> None:
    url = "postgresql://desk:s3cret-pw@127.0.0.1:1/desk"
    with pytest.raises(DeskError) as refused:
        move.move_desk(url)
    text = str(refused.value)
    assert "Cannot reach the PostgreSQL desk at postgresql://desk@127.0.0.1:1/desk" in text
    assert "s3cret-pw" not in text and text.count(".") >= 1


def test_a_wrong_password_is_said_without_it(sqlite_desk: None, pg_desk_url: str) -> None:
    wrong = pg_desk_url.replace("desk:", "desk:not-the-password-", 1)
    with pytest.raises(DeskError, match="password authentication failed") as refused:
        move.move_desk(wrong)
    assert "not-the-password" not in str(refused.value)


def test_no_sqlite_desk_is_one_sentence(desk_home: Path, pg_desk_url: str) -> None:
    with pytest.raises(DeskError, match=r"There is no SQLite desk in .*set DESKTERM_HOME"):
        move.move_desk(pg_desk_url)
    assert not (desk_home / "desk.sqlite3").exists()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://desk:pw@db:5432/desk", "postgresql://desk@db:5432/desk"),
        ("postgresql://desk@db/desk", "postgresql://desk@db/desk"),
        (
            "postgresql://db/desk?sslmode=require&password=pw",
            "postgresql://db/desk?sslmode=require",
        ),
        ("postgresql://desk:p%40ss@[::1]:5/d", "postgresql://desk@[::1]:5/d"),
    ],
)
def test_a_shown_url_never_has_the_password(url: str, shown: str) -> None:
    assert connection.shown_url(url) == shown
    assert connection.url_password(url) in (None, "pw", "p%40ss")
