"""Search means the same on SQLite (FTS5) and on PostgreSQL (tsvector + GIN, schema v8).

Every test runs on both engines: the embedded desk, and a fresh database on the suite's real
PostgreSQL server as an ordinary role. The mail goes in through the real ingest path; the
searches go through the list's own queries (`list_index`, `queries`), as the desk and the CLI
run them.
"""

from __future__ import annotations

import os

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import list_index, queries
from deskterm.errors import DeskError
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection, fulltext, migrations, pg_search
from deskterm.store.models import Channel, Conversation, Message
from tests.conftest import Desk
from tests.engine.test_search_speed import SEARCHES
from tests.mailfactory import make_mail
from tests.servers.pgserver import PgServer

MAILS = {
    "printer": ("Printer on fire", "Jane Doe <jane@customer.example>", "Smoke everywhere.\n"),
    "dessert": ("Menu question", "Bob <bob@other.example>", "Is the crème brûlée fresh?\n"),
    "plain": ("Recipe", "Ann <ann@third.example>", "The creme brulee recipe, please.\n"),
    "zoe": ("Invoice", "Zoë Quintana <zq@fourth.example>", "Invoice 40512 is wrong.\n"),
    "moscow": ("Доставка", "Ivan <ivan@fifth.example>", "Заказ в МОСКВУ опоздал.\n"),
    "tokyo": ("注文", "Yamada <y@sixth.example>", "山田太郎です。注文が届きません。\n"),
    "under": ("Report", "Kim <kim@seventh.example>", "see snake_case and a-b-c.\n"),
}


@pytest.fixture
def engine(engine: str, engine_channel: Channel) -> str:
    """Each engine's desk (tests/conftest.py `engine`) with the draft channel."""
    return engine


@pytest.fixture
def ids(engine: str) -> dict[str, int]:
    """Each of MAILS as its own conversation, by name."""
    channel = Channel.get(Channel.name == "support")
    batch = [
        Fetched(str(uid), b"", parse(make_mail(subject, sender, body=body)))
        for uid, (subject, sender, body) in enumerate(MAILS.values(), 1)
    ]
    outcomes = Ingestor(channel).apply(batch)
    assert [o.kind for o in outcomes] == ["ingested"] * len(MAILS)
    return dict(zip(MAILS, (o.conversation_id for o in outcomes), strict=True))


def found(search: str) -> set[int]:
    return set(list_index.conversation_ids("all", search=search))


def names(ids: dict[str, int], *wanted: str) -> set[int]:
    return {ids[name] for name in wanted}


def test_words_in_any_order_each_a_prefix(ids: dict[str, int]) -> None:
    assert found("fire printer") == found("PRINT FI") == names(ids, "printer")
    assert found("smok") == names(ids, "printer")  # the text
    assert found("rinter") == set()  # the start of a word, not any part of it
    assert found("printer smoke nothing") == set()  # every word must be there


def test_accents_and_case_are_ignored_both_ways(ids: dict[str, int]) -> None:
    both = names(ids, "dessert", "plain")
    assert found("creme brulee") == found("Crème BRÛLÉE") == found("brul crem") == both
    assert found("МОСКВ") == found("москву") == names(ids, "moscow")  # beyond Latin letters


def test_a_word_in_the_senders_name_or_address(ids: dict[str, int]) -> None:
    # Not the contact's name or address as typed (that is a LIKE of its own): the words of the
    # message's sender, in another order, without the accent.
    assert found("quintana zoe") == names(ids, "zoe")
    assert found("fourth zq") == names(ids, "zoe")  # parts of zq@fourth.example


def test_words_are_split_at_punctuation_and_scripts_are_kept(ids: dict[str, int]) -> None:
    assert found("snake") == found("case snake") == names(ids, "under")
    assert found("山田") == names(ids, "tokyo")
    assert found("4051") == names(ids, "zoe")


def test_nothing_found(ids: dict[str, int]) -> None:
    assert found("walrus") == set()
    assert queries.list_conversations("all", search="walrus kettle") == []


HOSTILE = [
    '"',
    "'",
    "\\",
    "\\'",
    "''; DROP TABLE message; --",
    "a & b | !c",
    "smoke:*",
    "(smoke",
    "smoke <-> fire",
    "!",
    "&|!():*<>",
    "NEAR(smoke fire)",
    "AND OR NOT",
    "*",
    "^smoke",
    "smoke -fire",
    "\x00",
    "smo\x00ke",
    "_",
    "%",
    "$$",
    "x" * 100_000,
    "smoke " * 5_000,
    "a_" * 50_000,
    "é" * 3_000,
]


def test_hostile_search_text_is_never_an_error(engine: str, ids: dict[str, int]) -> None:
    for search in HOSTILE:
        list_index.conversation_ids("all", search=search)
        queries.list_conversations("all", search=search)
        list_index.first_conversation_ids(1, "all", search=search)
    # Operators and quotes are only separators: the words around them still search.
    printer = names(ids, "printer")
    for search in ('"smoke"', "smoke:*", "(smoke", "^smoke", "smoke & fire", "'smoke'"):
        assert found(search) == printer, search
    assert found("smo\x00ke") == found("smoke\x00") == printer  # NUL dropped, as no text has it
    # A pasted page searches by its first fulltext.QUERY_WORDS words, on both engines alike.
    assert found("smoke " * fulltext.QUERY_WORDS + "walrus") == printer
    assert Message.select().count() == len(MAILS)  # and nothing typed ran as SQL


def test_a_mail_too_big_to_index_whole_is_stored_and_found_by_its_start(engine: str) -> None:
    """PostgreSQL refuses a tsvector over 1 MB: a mail of many distinct words indexes its first
    pg_search.INDEXED_CHARACTERS, and its batch is not failed (with bodies kept whole up to
    the limit an operator may set)."""
    channel = Channel.get(Channel.name == "support")
    words = " ".join(f"w{n:x}" for n in range(400_000))  # 3 MB, every word different
    mail = make_mail("Huge", "Hugo <h@big.example>", body=f"beginning {words}\n")
    parsed = parse(mail, max_body_bytes=5_000_000)  # DESKTERM_MAX_BODY_BYTES may be that high
    [outcome] = Ingestor(channel).apply([Fetched("1", b"", parsed)])
    assert outcome.kind == "ingested"
    assert len(Message.get(Message.conversation == outcome.conversation_id).text) > 2_000_000
    assert found("beginning") == {outcome.conversation_id}


def test_the_index_follows_edits_and_deletions(engine: str, ids: dict[str, int]) -> None:
    message = Message.get(Message.conversation == ids["printer"])
    Message.update(text="Flames now.").where(Message.id == message.id).execute()
    assert found("smoke") == set()
    assert found("flames") == names(ids, "printer")
    Conversation.delete().where(Conversation.id == ids["printer"]).execute()
    assert found("flames") == set()


@pytest.mark.postgres
def test_an_existing_desks_mail_is_searchable_after_the_upgrade(pg: str, desk: Desk) -> None:
    """A PostgreSQL desk at schema 7 (searching by LIKE) gets its index built by v8."""
    database = connection.open_database(migrate=False)
    migrations.migrate(database, migrations.MIGRATIONS[:7])  # as the previous deskterm left it
    channel = Channel.create(name="support", settings={"inbound": {"folders": ["INBOX"]}})
    [outcome] = Ingestor(channel).apply([Fetched("1", b"", parse(make_mail(body="Crème.\n")))])
    connection.close_database()

    database = connection.open_database()
    assert migrations.current_version(database) == len(migrations.MIGRATIONS)
    assert "message_search" in {i.name for i in database.get_indexes("message")}
    assert found("creme") == {outcome.conversation_id}


@pytest.mark.postgres
def test_a_role_that_may_not_install_unaccent_is_told_what_to_do(
    pg_server: PgServer, pg_url: str, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database the desk's role does not own: it may make tables, not install extensions.
    v8 stops with one sentence, the versions before it stay, and once the owner has
    installed unaccent the desk opens."""
    name = f"desk_foreign_{os.getpid()}"
    admin = pg_server.admin()
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        owned = pg_server.admin(name)
        with owned.cursor() as cur:
            cur.execute('GRANT ALL ON SCHEMA public TO "desk"')
        monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_url.rpartition("/")[0] + "/" + name)
        with pytest.raises(DeskError) as refused:
            connection.open_database()
        assert str(refused.value) == pg_search._UNACCENT_REFUSED
        connection.close_database()
        with owned.cursor() as cur:
            cur.execute("CREATE EXTENSION unaccent")
        owned.close()
        database = connection.open_database()
        assert migrations.current_version(database) == len(migrations.MIGRATIONS)
        connection.close_database()
    finally:
        connection.close_database()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.postgres
def test_both_engines_find_the_same_conversations_in_the_same_order(
    pg_desk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same desk (the demo's mail through the pipeline and 3,000 made-up conversations,
    the same ids on both) built on each engine: every search of the list's speed test gives
    the same list on PostgreSQL as on SQLite, whatever the tab, and a broad search's first
    rows (`first_conversation_ids`) are that list's start on both."""

    def results() -> dict[tuple[str, str], list[int]]:
        demo.build_demo(now=demo.ANCHOR)
        demo.add_synthetic(3000, now=demo.ANCHOR)
        lists = {}
        for status in ("open", "all"):
            for search in (*SEARCHES, "a_b c", "Müller", "ÉCOLE", "o'brien"):
                ids = list_index.conversation_ids(status, search=search)
                head = list_index.first_conversation_ids(50, status, search=search)
                if head is not None:  # only ever the list's exact start, and enough of it
                    assert len(head) >= 50 and head == ids[: len(head)], search
                lists[status, search] = ids
        connection.close_database()
        return lists

    on_sqlite = results()
    monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
    on_postgres = results()
    assert sum(map(len, on_sqlite.values())) > 3000  # many found, not only misses
    for key, ids in on_sqlite.items():
        assert on_postgres[key] == ids, key


@pytest.mark.postgres
@pytest.mark.parametrize("icu", [True, False])
def test_normalising_with_or_without_icu(pg: str, icu: bool) -> None:
    """The words the vector and the query are made of, with ICU (this server) and with the
    fallback for a server built without it: accents off, lower case, punctuation a space."""
    database = connection.open_database()
    expression = pg_search.words_sql("public", icu=icu)
    text = "Crème BRÛLÉE, «hi» a_b O'Brien—x@y.example 100% straße"
    [(words,)] = database.execute_sql(
        f"SELECT {expression} FROM (SELECT %s::text AS value) AS given", [text]
    ).fetchall()
    assert words.split() == [
        "creme", "brulee", "hi", "a", "b", "o", "brien", "x", "y", "example", "100", "strasse"
    ]  # fmt: skip
