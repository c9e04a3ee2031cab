"""Live updates between agents (issue 15): a change written on one connection is heard by
another's follower, on a real PostgreSQL (LISTEN/NOTIFY from triggers) and on SQLite
(`PRAGMA data_version`); the payload is bounded and holds no mail; the listener survives the
server ending its session and a network that goes silent."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import psycopg2
import pytest

from deskterm.desk import fields, time_spent, triage, types
from deskterm.inbound.ingest import Ingestor
from deskterm.outbound import replies
from deskterm.store import connection, live, live_triggers
from deskterm.store.live import APPLICATION_NAME, Change, PgListener
from deskterm.store.models import Agent, Channel, Conversation, Mention, Message, Note
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.engine.test_postgres import fetched, kettle, printer
from tests.mailfactory import make_mail


class Heard:
    """What a follower handed on, safe to read from the test's thread."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._lock = threading.Lock()

    def __call__(self, changes: list[Change]) -> None:
        with self._lock:
            self.changes.extend(changes)

    def seen(self) -> list[Change]:
        with self._lock:
            return list(self.changes)

    def clear(self) -> None:
        with self._lock:
            self.changes.clear()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def in_other_thread(work: Callable[[], object]) -> None:
    """Write as another agent would: peewee gives each thread a connection of its own."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close_database()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not errors, errors


@pytest.fixture
def pg_channel(pg: str, desk: Desk) -> Channel:
    desk.add_channel(DRAFT_CHANNEL)
    connection.open_database()
    return Channel.get(Channel.name == "support")


@pytest.fixture
def listening(pg_channel: Channel) -> Iterator[tuple[PgListener, Heard]]:
    heard = Heard()
    follower = live.follow(heard)
    assert isinstance(follower, PgListener)
    try:
        wait_for(follower.listening.is_set, "the listener to LISTEN")
        yield follower, heard
    finally:
        follower.stop()


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_new_mail_written_on_one_connection_is_heard_by_another(
    listening: tuple[PgListener, Heard], pg_channel: Channel
) -> None:
    _, heard = listening
    outcomes: list[int] = []
    in_other_thread(
        lambda: outcomes.extend(
            o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer()))
        )
    )
    (conversation,) = outcomes
    wait_for(lambda: Change("message", "insert", (conversation,)) in heard.seen(), "the message")
    assert Change("conversation", "insert", (conversation,)) in heard.seen()


@pytest.mark.postgres
def test_triage_by_another_agent_is_heard_with_its_conversation(
    listening: tuple[PgListener, Heard], pg_channel: Channel
) -> None:
    _, heard = listening
    first, second = (
        o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer(), kettle()))
    )
    wait_for(lambda: heard.seen(), "the ingest")
    heard.clear()
    in_other_thread(lambda: triage.set_status(first, "pending"))
    wait_for(lambda: Change("conversation", "update", (first,)) in heard.seen(), "the status")
    in_other_thread(lambda: triage.add_tag(second, "vip"))
    wait_for(lambda: Change("conversation_tag", "insert", (second,)) in heard.seen(), "the tag")
    heard.clear()
    nothing = Conversation.update(status="closed").where(Conversation.id < 0)
    in_other_thread(nothing.execute)
    in_other_thread(lambda: triage.set_status(second, "closed"))
    wait_for(lambda: Change("conversation", "update", (second,)) in heard.seen(), "the close")
    assert all(c.conversations for c in heard.seen())  # the empty update said nothing


@pytest.mark.postgres
def test_notes_mentions_and_the_outbox_announce_their_conversation(
    listening: tuple[PgListener, Heard], pg_channel: Channel
) -> None:
    _, heard = listening
    (conversation,) = (o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer())))
    kim = Agent.create(handle="kim", name="Kim")

    def write() -> None:
        note = Note.create(conversation=conversation, author=kim, text="@kim look")
        Mention.create(note=note, agent=kim)
        replies.queue_reply(conversation, "On it.", status=None)

    in_other_thread(write)
    for table in ("note", "mention", "outbox"):
        wait_for(lambda t=table: Change(t, "insert", (conversation,)) in heard.seen(), table)


@pytest.mark.postgres
def test_a_custom_field_set_by_another_agent_is_heard_with_its_conversation(
    listening: tuple[PgListener, Heard], pg_channel: Channel
) -> None:
    _, heard = listening
    (conversation,) = (o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer())))
    types.add("billing")
    types.add_field("billing", "order", "text")
    types.set_type(conversation, "billing")
    wait_for(lambda: Change("conversation", "update", (conversation,)) in heard.seen(), "type")
    in_other_thread(lambda: fields.set_value(conversation, "order", "A-1"))
    wait_for(lambda: Change("field_value", "insert", (conversation,)) in heard.seen(), "the field")


@pytest.mark.postgres
def test_time_corrected_or_removed_by_another_agent_is_heard_with_its_conversation(
    listening: tuple[PgListener, Heard], pg_channel: Channel
) -> None:
    _, heard = listening
    (conversation,) = (o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer())))
    entry = int(time_spent.add(conversation, 900)["id"])
    wait_for(lambda: Change("time_entry", "insert", (conversation,)) in heard.seen(), "logged")
    in_other_thread(lambda: time_spent.edit(entry, seconds=600, note="shorter"))
    wait_for(lambda: Change("time_entry", "update", (conversation,)) in heard.seen(), "edit")
    in_other_thread(lambda: time_spent.remove(entry))
    wait_for(lambda: Change("time_entry", "delete", (conversation,)) in heard.seen(), "removal")


@pytest.mark.postgres
def test_a_batch_is_one_bounded_notification_without_mail_content(
    pg_channel: Channel, pg: str
) -> None:
    """However many rows a batch writes, a handful of notifications announce it (the first
    name their conversations, then one says "many"), each a few hundred bytes, and never with
    a subject, address or body."""
    many = live_triggers.MAX_PER_TRANSACTION + 30
    mails = [
        make_mail(f"Secret subject {n}", f"P{n} <p{n}@customer.example>", body="Secret body\n")
        for n in range(many)
    ]
    raw = psycopg2.connect(pg)
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"LISTEN {live_triggers.CHANNEL}")
        Ingestor(pg_channel).apply(fetched(*mails))
        assert Conversation.select().count() == many
        deadline = time.monotonic() + 10
        payloads: list[str] = []
        while time.monotonic() < deadline and not any('"message"' in p for p in payloads):
            raw.poll()
            payloads += [n.payload for n in raw.notifies]
            raw.notifies.clear()
            time.sleep(0.02)
    finally:
        raw.close()
    assert len(payloads) <= live_triggers.MAX_PER_TRANSACTION + 3  # + "many" per table/kind
    messages = [json.loads(p) for p in payloads if json.loads(p)["t"] == "message"]
    assert messages[-1] == {"t": "message", "k": "insert", "c": None}  # "many"
    assert all(len(p.encode()) < 600 for p in payloads)
    assert not any("Secret" in p or "customer.example" in p for p in payloads)


@pytest.mark.postgres
def test_the_listener_survives_the_server_ending_its_session(
    listening: tuple[PgListener, Heard], pg_channel: Channel, pg: str
) -> None:
    follower, heard = listening
    admin = psycopg2.connect(pg)  # the desk's own role may end its own sessions
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (APPLICATION_NAME,),
            )
            assert cursor.fetchall() == [(True,)]
    finally:
        admin.close()
    wait_for(lambda: follower.connects == 2, "the reconnect")
    wait_for(lambda: Change.anything() in heard.seen(), "the catch-up after the outage")
    heard.clear()
    (conversation,) = (o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer())))
    wait_for(lambda: Change("message", "insert", (conversation,)) in heard.seen(), "new mail")


class FreezableProxy:
    """A TCP relay to PostgreSQL that can go silent, as a cut network does: its sockets stay
    open (no FIN, no RST) and nothing passes; connections made after the freeze pass again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.generation = 0
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.generation += 1

    def close(self) -> None:
        self._stop.set()
        self.server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            born = self.generation
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b, born), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, born: int) -> None:
        source.settimeout(0.1)
        while not self._stop.is_set():
            if self.generation != born:
                time.sleep(0.1)  # frozen: hold the socket, pass nothing
                continue
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            sink.sendall(data)


@pytest.mark.postgres
def test_the_listener_reconnects_after_the_network_goes_silent(
    pg_channel: Channel, pg: str
) -> None:
    """No packet says a cut network is cut: the listener's ping gets no answer in time."""
    database = connection.open_database()
    params = {"dbname": database.database, **database.connect_params}
    proxy = FreezableProxy(params["host"], int(params["port"]))
    heard = Heard()
    follower = PgListener(
        {**params, "host": "127.0.0.1", "port": proxy.port},
        heard,
        ping_every=0.3,
        answer_within=1.0,
    )
    follower.start()
    try:
        wait_for(follower.listening.is_set, "the listener to LISTEN")
        proxy.freeze()
        wait_for(lambda: follower.connects == 2, "the reconnect through the thawed relay")
        wait_for(lambda: Change.anything() in heard.seen(), "the catch-up after the outage")
        heard.clear()
        (conversation,) = (
            o.conversation_id for o in Ingestor(pg_channel).apply(fetched(printer()))
        )
        wait_for(lambda: Change("message", "insert", (conversation,)) in heard.seen(), "new mail")
    finally:
        follower.stop()
        proxy.close()


def test_an_unreachable_server_is_logged_once_while_retrying(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    follower = PgListener({"host": "127.0.0.1", "port": port, "dbname": "desk"}, Heard())
    follower.FIRST_RETRY = 0.01
    follower.MAX_RETRY = 0.01
    monkeypatch.setattr(logging.getLogger("deskterm"), "propagate", True)  # startup's is off
    caplog.set_level("INFO", logger="deskterm.live")
    follower.start()
    try:
        wait_for(lambda: follower.attempts > 3, "the listener to fail several times")
    finally:
        follower.stop()
    assert follower.connects == 0
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


# --- payloads -------------------------------------------------------------------------------


def test_payloads_not_written_by_our_trigger_mean_anything_may_have_changed() -> None:
    assert Change.from_payload('{"t":"message","k":"insert","c":[3,4]}') == Change(
        "message", "insert", (3, 4)
    )
    assert Change.from_payload('{"t":"conversation","k":"update","c":null}') == Change(
        "conversation", "update", None
    )
    for hostile in (
        "not json",
        "[1]",
        '{"t":"channel","k":"insert","c":[1]}',
        '{"t":"message","k":"drop","c":[1]}',
        '{"t":"message","k":"insert","c":["1; DROP"]}',
        '{"t":"message","k":"insert","c":[true]}',
        '{"t":"message","k":"insert","c":' + json.dumps(list(range(1, 100))) + "}",
        '{"t":"message","k":"insert","c":[1]}' + " " * 9000,
    ):
        assert Change.from_payload(hostile) == Change.anything(), hostile


# --- SQLite ---------------------------------------------------------------------------------


@pytest.mark.sqlite_only("SQLite's commit counter (PRAGMA data_version)")
def test_on_sqlite_a_commit_by_another_connection_is_heard(draft_channel: Channel) -> None:
    heard = Heard()
    follower = live.follow(heard)
    assert isinstance(follower, live.SqliteWatcher)
    try:
        wait_for(follower.watching.is_set, "the watcher to read the version it starts from")
        assert heard.seen() == []
        in_other_thread(lambda: Ingestor(draft_channel).apply(fetched(printer())))
        wait_for(lambda: heard.seen(), "the commit")
        assert heard.seen()[0] == Change.anything()
        assert Message.select().count() == 1
    finally:
        follower.stop()
