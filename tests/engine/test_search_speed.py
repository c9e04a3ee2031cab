"""Search as you type, made fast (issue 11), finds what it always found, in the same order.

Behaviour only: how fast it is lives in bench/ui_list.py (same-run baselines, not wall-clock
limits). The reference below is the query the list used before: every conversation joined to
its contact and tested with LIKE, or with its messages' FTS5 matches, or by number.
"""

from __future__ import annotations

import queue
import re
import threading

import peewee
import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.channels import registry as channels
from deskterm.demo import desk as demo
from deskterm.desk import list_index
from deskterm.screens.conversations import SEARCH_DELAY
from deskterm.store import connection, db
from deskterm.store.models import Contact, Conversation, Message
from deskterm.widgets.filter_bar import FilterBar
from tests.tui.test_app import drive, screen_text, settle, the_list

SEARCHES = (
    "o",
    "or",
    "order",
    "order 1",
    "order 1234",
    "ORDER 12",
    "alice",
    "jose",  # José: accents ignored by FTS5
    "José",
    "zoë",
    "山田",
    "synthetic.example",
    "customer12@",
    "100",  # a number: the conversation #100 too
    "#100",
    "#7",
    "refund 12",
    "qx",
    "100%",  # LIKE's wildcards are literal
    "a_b",
    "-",  # no word for FTS5
    "Vodafone",
)


def reference_ids(status: str, search: str, channel: str | None = None) -> list[int]:
    query = Conversation.select(Conversation.id).join(Contact, peewee.JOIN.LEFT_OUTER)
    search = search.strip()
    if re.fullmatch(r"#\d{1,12}", search):  # that conversation, whatever the filters (issue 14)
        return [row.id for row in query.where(Conversation.id == int(search[1:]))]
    if status != "all":
        query = query.where(Conversation.status == status)
    if channel:
        query = query.where(Conversation.channel == channels.get(channel))
    if search:
        words = re.findall(r"\w+", search)
        if words:
            match = " ".join(f'"{word}"*' for word in words)
            hits = peewee.SQL("(SELECT rowid FROM message_fts WHERE message_fts MATCH ?)", [match])
            by_text = Message.select(Message.conversation).where(Message.id.in_(hits))
        else:
            by_text = Message.select(Message.conversation).where(
                Message.subject.contains(search) | Message.text.contains(search)
            )
        condition = (
            Contact.email.contains(search)
            | Contact.name.contains(search)
            | Conversation.id.in_(by_text)
        )
        number = search.removeprefix("#")
        if number.isdigit() and len(number) <= 12:
            condition |= Conversation.id == int(number)
        query = query.where(condition)
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    return [row.id for row in query]


@pytest.fixture
def big_desk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "sam")  # the demo's agent: the app asks nobody
    demo.build_demo(now=demo.ANCHOR)
    demo.add_synthetic(5000, now=demo.ANCHOR)


@pytest.mark.sqlite_only(
    "its reference query is SQLite's FTS5 "
    "(test_search_engines compares PostgreSQL's lists with SQLite's)"
)
@pytest.mark.usefixtures("big_desk")
@pytest.mark.parametrize("status", ["open", "closed", "all"])
def test_the_same_matches_in_the_same_order(status: str) -> None:
    for search in SEARCHES:
        expected = reference_ids(status, search)
        assert list_index.conversation_ids(status, search=search) == expected, search
        head = list_index.first_conversation_ids(50, status, search=search)
        if head is not None:  # only ever the list's exact start, and enough of it
            assert len(head) >= 50 and head == expected[: len(head)], search
    assert list_index.conversation_ids(status, "demo", search="order") == reference_ids(
        status, "order", channel="demo"
    )


@pytest.mark.usefixtures("big_desk")
def test_a_broad_search_has_its_first_rows_early_and_a_narrow_one_does_not() -> None:
    assert list_index.first_conversation_ids(64, "open", search="o") is not None
    assert list_index.first_conversation_ids(64, "open", search="refund 12") is None
    assert list_index.first_conversation_ids(64, "open", search="#12") is None
    assert list_index.first_conversation_ids(64, "open", search="") is None
    head = list_index.first_conversation_ids(64, "open", search="o", tag="nothing-has-it")
    assert head is None


def test_a_running_query_is_stopped_from_another_thread(
    engine: str, request: pytest.FixtureRequest
) -> None:
    """On either engine (SQLite interrupts, PostgreSQL cancels on the server), and the
    connection that ran it answers the next query."""
    demo.build_demo(now=demo.ANCHOR)
    stops: queue.Queue[object] = queue.Queue()
    outcome: list[BaseException] = []
    after: list[int] = []
    no_more_stops = threading.Event()

    def endless() -> None:
        stops.put(list_index.interrupter())
        try:
            db.database.execute_sql(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
                "SELECT count(*) FROM n"
            ).fetchall()
        except Exception as exc:
            outcome.append(exc)
            no_more_stops.wait(10)
            after.extend(list_index.conversation_ids("open"))  # the same connection, again
        finally:
            connection.close_database()  # this thread's connection

    thread = threading.Thread(target=endless)
    thread.start()
    stop = stops.get(timeout=10)
    assert callable(stop)
    while not outcome and thread.is_alive():
        stop()  # until the query has started and ended
        thread.join(0.05)
    no_more_stops.set()
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and list_index.was_interrupted(outcome[0])
    assert after and after == list_index.conversation_ids("open")
    assert not list_index.was_interrupted(ValueError("interrupted"))
    assert list_index.conversation_ids("open")  # other connections are untouched


def test_typing_shows_the_whole_result_with_its_count(
    engine: str, request: pytest.FixtureRequest
) -> None:
    """On PostgreSQL too: the first rows from the newest conversations, then the whole list,
    each keystroke's query cancelled by the next (what it finds there is the same as on
    SQLite: test_search_engines.py)."""
    request.getfixturevalue("big_desk")
    on_sqlite = engine == "sqlite"
    expected = (
        reference_ids("open", "or")
        if on_sqlite
        else list_index.conversation_ids("open", search="or")
    )

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        for char in "or":
            await pilot.press(*(("slash",) if char == "o" else ()), char)
            await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == expected
        bar = app.screen.query_one(FilterBar)
        assert (bar.search, bar.shown) == ("or", len(expected))
        assert "/or: 12" in screen_text(app)  # the count, cut at 80 columns
        assert app.screen.loaded == app.screen.shown == app.screen.generation

    drive(scenario)


@pytest.mark.usefixtures("big_desk")
def test_the_cursor_lands_as_if_the_whole_list_had_come_at_once() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        full = list(listing.ids)
        listing._move(300)
        wanted = listing.current_id
        listing.show(full[:70], whole=False)  # the cursor's conversation is not in it
        assert listing.cursor == 69
        listing.show(full)
        assert listing.current_id == wanted and listing.cursor == 300
        # Moved by the agent in between: it stays where they put it.
        listing.show(full[:70], whole=False)
        listing._move(10)
        listing.show(full)
        assert listing.cursor == 10

    drive(scenario)
