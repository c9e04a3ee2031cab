"""Hearing that the desk changed under us: another agent's app, the CLI, or a worker on another
machine wrote to it.

An app follows the desk with `follow(on_change)`, which starts what suits the database, in a
thread of its own:

- PostgreSQL: `PgListener`, a dedicated connection that LISTENs to the desk's channel; every
  written statement announces itself by a trigger (store/live_triggers.py). The connection is
  non-blocking and read with select(), so that stopping, pinging and giving up on a silent
  server are all bounded: a server that closed it is seen at once, a network cut (where no
  packet says so) by a ping that gets no answer in time. It then reconnects with a growing
  pause, logging once per outage, and reports `Change.anything()` once back, since what was
  announced meanwhile was lost.
- SQLite: `SqliteWatcher`, SQLite's own change counter: `PRAGMA data_version` on a connection
  of its own changes whenever any other connection (another process, or another thread of
  this one) committed. One pragma, no table read, a few microseconds (`bench.live_delay`).

`on_change` runs in that thread with a list of `Change`; the caller hands it on (the app:
`call_from_thread`, then its coalesced refresh). Nothing here imports Textual.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import peewee

from deskterm.store import db as dbmod
from deskterm.store.live_triggers import CHANNEL, CONVERSATION_OF, MAX_IDS

log = logging.getLogger("deskterm.live")

APPLICATION_NAME = "deskterm live"  # how the listener's session shows in pg_stat_activity
MAX_PAYLOAD = 8000  # NOTIFY's own limit: anything longer did not come from our trigger


@dataclass(frozen=True)
class Change:
    """What a notification said changed. `table` None: anything may have (a reconnect, an
    SQLite commit, a payload we did not write); `conversations` None: many, or unknown."""

    table: str | None
    kind: str  # insert | update | delete | anything
    conversations: tuple[int, ...] | None

    @classmethod
    def anything(cls) -> Change:
        return cls(None, "anything", None)

    @classmethod
    def from_payload(cls, payload: str) -> Change:
        """Read a notification strictly: any client of the database may NOTIFY this channel,
        so an unexpected payload is taken as "anything may have changed", never trusted."""
        if len(payload) > MAX_PAYLOAD:
            return cls.anything()
        try:
            data = json.loads(payload)
        except ValueError:
            return cls.anything()
        if not isinstance(data, dict):
            return cls.anything()
        table, kind, ids = data.get("t"), data.get("k"), data.get("c")
        if table not in CONVERSATION_OF or kind not in ("insert", "update", "delete"):
            return cls.anything()
        if ids is None:
            return cls(table, kind, None)
        if (
            not isinstance(ids, list)
            or len(ids) > MAX_IDS
            or not all(type(i) is int and i > 0 for i in ids)
        ):
            return cls.anything()
        return cls(table, kind, tuple(ids))


OnChange = Callable[[list[Change]], None]


class Follower(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class _Thread:
    """A daemon thread that runs `_run` until `stop()`, handing changes to `on_change`."""

    name = "deskterm-live"

    def __init__(self, on_change: OnChange) -> None:
        self.on_change = on_change
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _wake(self) -> None:
        """Interrupt a wait now (the listener's select)."""

    def _run(self) -> None:
        raise NotImplementedError

    def _deliver(self, changes: list[Change]) -> None:
        if not changes or self.stopping.is_set():
            return
        try:
            self.on_change(changes)
        except Exception:  # the caller's bug must not stop the app hearing the desk
            log.exception("handling a change of the desk failed")


# --- PostgreSQL ---------------------------------------------------------------------------


class _Silent(Exception):
    """The server did not answer in time: the network is cut, or the server hangs."""


class PgListener(_Thread):
    """LISTEN on a dedicated, non-blocking connection; see the module's docstring."""

    FIRST_RETRY = 0.5  # seconds before reconnecting; doubled after each failure
    MAX_RETRY = 15.0

    def __init__(
        self,
        connect_params: dict[str, Any],
        on_change: OnChange,
        *,
        ping_every: float = 20.0,
        answer_within: float = 10.0,
    ) -> None:
        """`ping_every`: seconds of silence after which the connection is asked to answer;
        `answer_within`: how long it may take (connecting too) before it counts as lost."""
        super().__init__(on_change)
        self.params = {"application_name": APPLICATION_NAME, **connect_params}
        self.ping_every = ping_every
        self.answer_within = answer_within
        self.attempts = 0  # connections tried so far
        self.connects = 0  # sessions opened so far (a test sees a reconnect by it)
        self.listening = threading.Event()  # set while a session LISTENs
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe is already awake; a closed one gone
            os.write(self._wake_write, b"x")

    def _run(self) -> None:
        import psycopg2

        delay, down_since = self.FIRST_RETRY, None
        while not self.stopping.is_set():
            self.attempts += 1
            try:
                conn = self._connect()
            except (psycopg2.Error, OSError, _Silent) as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning(
                        "live updates paused, the desk's database is unreachable (%s); retrying",
                        type(exc).__name__,
                    )
                self.stopping.wait(delay)
                delay = min(delay * 2, self.MAX_RETRY)
                continue
            try:
                self.connects += 1
                self.listening.set()
                if self.connects > 1:  # what was announced while away is lost: read it all
                    if down_since is not None:
                        log.info("live updates resumed after %.0f s", time.monotonic() - down_since)
                    self._deliver([Change.anything()])
                delay, down_since = self.FIRST_RETRY, None
                self._serve(conn)
            except (psycopg2.Error, OSError, _Silent) as exc:
                if not self.stopping.is_set():
                    down_since = time.monotonic()
                    log.warning(
                        "live updates lost their connection (%s); reconnecting", type(exc).__name__
                    )
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    conn.close()

    def _connect(self) -> Any:
        import psycopg2

        deadline = time.monotonic() + self.answer_within
        conn = psycopg2.connect(**self.params, async_=True)
        try:
            self._wait(conn, deadline)
            cursor = conn.cursor()
            cursor.execute(f"LISTEN {CHANNEL}")
            self._wait(conn, deadline)
        except BaseException:
            conn.close()
            raise
        return conn

    def _serve(self, conn: Any) -> None:
        """Hand on what arrives; after `ping_every` of silence, make the server answer."""
        cursor = conn.cursor()
        while not self.stopping.is_set():
            ready, _, _ = select.select([conn, self._wake_read], [], [], self.ping_every)
            if self._wake_read in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_read, 512)
                continue
            if not ready:
                cursor.execute("SELECT 1")
                self._wait(conn, time.monotonic() + self.answer_within)
                cursor.fetchall()
            else:
                conn.poll()  # reads what came; raises once the server has closed the session
            self._hand_on(conn)

    def _hand_on(self, conn: Any) -> None:
        if conn.notifies:
            changes = [Change.from_payload(n.payload) for n in conn.notifies]
            conn.notifies.clear()
            self._deliver(changes)

    def _wait(self, conn: Any, deadline: float) -> None:
        """Drive the non-blocking connection until its command is done, or raise _Silent."""
        import psycopg2.extensions as ext

        while True:
            state = conn.poll()
            if state == ext.POLL_OK:
                return
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping.is_set():
                raise _Silent()
            if state == ext.POLL_READ:
                ready = select.select([conn, self._wake_read], [], [], left)[0]
            else:  # POLL_WRITE
                ready = select.select([self._wake_read], [conn], [], left)[1]
            if not ready and time.monotonic() >= deadline:
                raise _Silent()


# --- SQLite -------------------------------------------------------------------------------


class SqliteWatcher(_Thread):
    """`PRAGMA data_version` every `interval` seconds on a connection of its own."""

    def __init__(self, path: str, on_change: OnChange, *, interval: float = 0.25) -> None:
        super().__init__(on_change)
        self.path = path
        self.interval = interval
        # Set once it has read the version it starts from: a commit before then is not heard
        # as a change (a test waits for it, as for PgListener's `listening`).
        self.watching = threading.Event()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        except sqlite3.Error:
            log.warning("live updates are off: the desk's file could not be opened to watch")
            return
        try:
            last, failing = version(conn), False
            self.watching.set()
            while not self.stopping.wait(self.interval):
                try:
                    now = version(conn)
                except sqlite3.Error as exc:
                    if not failing:
                        log.warning("watching the desk failed (%s); retrying", exc)
                    failing = True
                    continue
                failing = False
                if now != last:
                    last = now
                    self._deliver([Change.anything()])
        finally:
            conn.close()


def version(conn: sqlite3.Connection) -> int:
    """SQLite's count of commits by other connections, as this connection sees it."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


# --- choosing ---------------------------------------------------------------------------


def follower(on_change: OnChange, database: peewee.Database | None = None) -> Follower | None:
    """What follows this desk's database (not started yet); None for an in-memory one."""
    database = database or dbmod.database.obj
    if dbmod.is_sqlite(database):
        if database.database in ("", ":memory:"):
            return None
        return SqliteWatcher(database.database, on_change)
    if isinstance(database, peewee.PostgresqlDatabase):
        return PgListener({"dbname": database.database, **database.connect_params}, on_change)
    return None


def follow(on_change: OnChange, database: peewee.Database | None = None) -> Follower | None:
    """Start following the desk: `on_change` (in another thread) for each change heard."""
    found = follower(on_change, database)
    if found is not None:
        found.start()
    return found
