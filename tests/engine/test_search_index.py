"""A batch writer indexes its messages at the end of its transaction, everyone else per row."""

from __future__ import annotations

import pytest

from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection, db, search_index
from deskterm.store.models import Channel, Conversation, Message
from tests.mailfactory import make_mail

pytestmark = pytest.mark.sqlite_only("SQLite's FTS5 table and its batch switch")


def _hits(word: str) -> list[int]:
    rows = db.database.execute_sql(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid", [f'"{word}"']
    ).fetchall()
    return [r for (r,) in rows]


def _message(conversation: Conversation, text: str, direction: str = "in") -> Message:
    return Message.create(
        conversation=conversation, direction=direction, subject="x", text=text, dedup_key=text
    )


def _deferred_flag() -> int:
    return db.database.execute_sql("SELECT deferred FROM search_control").fetchone()[0]


def _batch(words: list[str]) -> list[Fetched]:
    return [
        Fetched(str(i), b"", parse(make_mail(subject=f"about {w}", body=f"the {w} is broken")))
        for i, w in enumerate(words, 1)
    ]


@pytest.fixture
def channel() -> Channel:
    connection.open_database()
    return Channel.create(name="support", settings={"inbound": {"folders": ["INBOX"]}})


def test_a_batch_is_searchable_once_applied_and_the_switch_is_off_again(
    channel: Channel,
) -> None:
    outcomes = Ingestor(channel).apply(_batch(["kettle", "toaster", "blender"]))
    assert [o.kind for o in outcomes] == ["ingested"] * 3
    ids = {m.subject.split()[-1]: m.id for m in Message.select()}
    assert _hits("kettle") == [ids["kettle"]]
    assert _hits("toaster") == [ids["toaster"]]
    assert _hits("broken") == sorted(ids.values())
    assert _deferred_flag() == 0


def test_other_writes_are_still_indexed_row_by_row(channel: Channel) -> None:
    Ingestor(channel).apply(_batch(["kettle"]))
    conversation = Conversation.get()
    reply = _message(conversation, "try descaling", "out")
    assert _hits("descaling") == [reply.id]


def test_a_failed_batch_leaves_no_index_rows_and_the_trigger_on(channel: Channel) -> None:
    conversation = Conversation.create(channel=channel, subject="x")
    with pytest.raises(RuntimeError), search_index.deferred():
        _message(conversation, "walrus")
        assert _deferred_flag() == 1
        raise RuntimeError("the batch failed half-way")
    assert _hits("walrus") == []
    assert Message.select().count() == 0
    assert _deferred_flag() == 0
    later = _message(conversation, "narwhal")
    assert _hits("narwhal") == [later.id]


def test_rows_inserted_before_and_inside_are_both_found(channel: Channel) -> None:
    conversation = Conversation.create(channel=channel, subject="x")
    before = _message(conversation, "otter")
    with search_index.deferred():
        inside = _message(conversation, "otter and more")
    assert _hits("otter") == [before.id, inside.id]
    count = db.database.execute_sql(
        "SELECT count(*) FROM message_fts WHERE message_fts MATCH 'otter'"
    ).fetchone()[0]
    assert count == 2
