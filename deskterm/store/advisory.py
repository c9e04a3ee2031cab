"""PostgreSQL advisory locks on a connection of their own: which worker leads a channel.

A team desk has no shared file to lock, and the database already knows how to hold a lock
for exactly as long as a session lives: a session-level advisory lock
(`pg_try_advisory_lock`). It is taken on a dedicated psycopg2 connection, never peewee's,
because peewee's connection is closed and reopened by the code around it (and a pool may hand
it to another thread), which would let the lock go without anyone noticing.

The lock is freed by the server when that session ends, however it ends: the process exits
or is killed (the kernel closes the socket), the machine or the network goes away (TCP
keepalives on both sides, and `tcp_user_timeout` for data that is never acknowledged), or
the process freezes (`idle_session_timeout`; a heartbeat keeps a live holder's session busy).
The holder notices a lost session at its next `holds()`, which asks the server; the
heartbeat notices it in between.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from typing import Any

import psycopg2

log = logging.getLogger(__name__)

# libpq's side: a dead peer is found within about idle + interval * count seconds, and a
# query whose data the server never acknowledges gives up after tcp_user_timeout.
CLIENT_OPTIONS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,  # milliseconds
    "application_name": "deskterm leader",
}
# The server's side, where the role may set them (all are user-settable; a server older than
# PostgreSQL 14 has no idle_session_timeout): a machine that vanished, or a holder frozen
# longer than a minute, frees the lock. The heartbeat runs far more often than that.
SERVER_SETTINGS = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
    "SET idle_session_timeout = '60s'",
    "SET statement_timeout = '10s'",
)
HEARTBEAT_SECONDS = 10.0


def channel_key(uid: str) -> int:
    """The advisory lock key of a channel: a signed 64-bit number from its stable uid (a
    renamed channel keeps its leader; the prefix keeps it apart from other users' keys)."""
    digest = hashlib.sha256(b"deskterm channel leader\0" + uid.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def desk_key(duty: str) -> int:
    """The advisory lock key of a desk-wide duty (e.g. "sla notices"): one worker of the
    desk does it, whichever holds this key."""
    digest = hashlib.sha256(b"deskterm desk duty\0" + duty.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _split(key: int) -> tuple[int, int]:
    """How pg_locks shows a bigint key: its high and low 32 bits as classid and objid."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class AdvisoryLocks:
    """Session-level advisory locks held on one dedicated connection to the desk's database.

    Thread-safe: the worker's loop, its sync's checks and the heartbeat share it.
    """

    def __init__(
        self,
        url: str,
        heartbeat: float = HEARTBEAT_SECONDS,
        *,
        params: dict[str, Any] | None = None,
    ) -> None:
        """`params`: libpq keywords beside the URL (the stored password, never in the URL)."""
        self._url = url
        self._params = params or {}
        self._conn: Any = None
        self._held: set[int] = set()
        self._mutex = threading.Lock()
        self._closing = threading.Event()
        self._heartbeat = heartbeat
        self._beat: threading.Thread | None = None

    # --- what the worker asks ---------------------------------------------------------------

    def try_lock(self, key: int) -> bool:
        """Take the lock if no other session holds it; False also when the database cannot
        be reached (a worker that cannot hold the lock must not lead)."""
        with self._mutex:
            if key in self._held:
                return True
            try:
                conn = self._connection()
                taken = bool(self._one(conn, "SELECT pg_try_advisory_lock(%s)", (key,)))
            except psycopg2.Error as exc:
                self._lost(exc)
                return False
            if taken:
                self._held.add(key)
                self._start_heartbeat()
            return taken

    def holds(self, key: int) -> bool:
        """Whether this connection still holds the lock, as the server sees it now (one round
        trip); a broken connection means every lock it held is gone."""
        with self._mutex:
            if key not in self._held or self._conn is None:
                return False
            classid, objid = _split(key)
            try:
                found = bool(
                    self._one(
                        self._conn,
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                        " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
                        " AND classid::bigint = %s AND objid::bigint = %s)",
                        (classid, objid),
                    )
                )
            except psycopg2.Error as exc:
                self._lost(exc)
                return False
            if not found:
                self._held.discard(key)
            return found

    def held(self) -> set[int]:
        """The keys this process believes it holds (no round trip; `holds` asks)."""
        with self._mutex:
            return set(self._held)

    def unlock(self, key: int) -> None:
        with self._mutex:
            if key not in self._held:
                return
            self._held.discard(key)
            with contextlib.suppress(psycopg2.Error):
                self._one(self._conn, "SELECT pg_advisory_unlock(%s)", (key,))

    def backend_pid(self) -> int | None:
        """The server process of the lock's session (tests end it to cut the connection)."""
        with self._mutex:
            if self._conn is None:
                return None
            try:
                return int(self._one(self._conn, "SELECT pg_backend_pid()", ()))
            except psycopg2.Error as exc:
                self._lost(exc)
                return None

    def close(self) -> None:
        """Let every lock go (the session ends) and stop the heartbeat."""
        self._closing.set()
        with self._mutex:
            if self._conn is not None:
                if self._held:
                    # At once, not when the server gets round to ending the session: another
                    # worker may take the channels over the moment this returns.
                    with contextlib.suppress(psycopg2.Error):
                        self._one(self._conn, "SELECT pg_advisory_unlock_all()", ())
                with contextlib.suppress(psycopg2.Error):
                    self._conn.close()
                self._conn = None
            self._held.clear()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)

    # --- the connection ---------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            conn = psycopg2.connect(self._url, **CLIENT_OPTIONS, **self._params)
            conn.autocommit = True  # a session lock outlives transactions; none is left open
            for setting in SERVER_SETTINGS:
                try:
                    self._one(conn, setting, ())
                except psycopg2.Error as exc:  # an older server, or a role that may not
                    log.info("lock connection: %s refused (%s)", setting, exc.pgcode)
            self._conn = conn
        return self._conn

    @staticmethod
    def _one(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone() if cur.description else None
        return row[0] if row else None

    def _lost(self, exc: BaseException) -> None:
        """The session is gone (or never came): so is every lock it held."""
        if self._held:
            log.warning("the lock connection broke; its channels are no longer led here (%s)", exc)
        else:
            log.info("the lock connection could not be used (%s)", type(exc).__name__)
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def _start_heartbeat(self) -> None:
        if self._beat is None or not self._beat.is_alive():
            self._beat = threading.Thread(target=self._beats, daemon=True, name="lock-heartbeat")
            self._beat.start()

    def _beats(self) -> None:
        """Keep the session from idling out while locks are held, and find a broken one
        between the worker's own checks."""
        while not self._closing.wait(self._heartbeat):
            with self._mutex:
                if self._conn is None or not self._held:
                    continue
                try:
                    self._one(self._conn, "SELECT 1", ())
                except psycopg2.Error as exc:
                    self._lost(exc)
