"""Stopping a running query from another thread, on either engine.

The list stops a search's query when a newer keystroke makes its answer useless, so that the
newer search does not wait behind it. SQLite interrupts the connection's statement
(`sqlite3.Connection.interrupt`); PostgreSQL cancels it on the server (libpq's cancel request,
`psycopg2`'s `connection.cancel`). Either way the query fails with an error `was_cancelled`
recognises, and the connection stays usable: peewee runs the list's reads outside any
transaction, so nothing is left aborted.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable

import peewee

from deskterm.store.db import database, is_sqlite

# What each engine says when a query was stopped this way.
_STOPPED = ("interrupted", "canceling statement due to user request")


def canceller() -> Callable[[], None]:
    """What stops this thread's running query from another thread; with nothing running, it
    does nothing (a cancel that arrives between queries is ignored by both engines)."""
    connection = database.connection()
    stop = connection.interrupt if is_sqlite(database.obj) else connection.cancel

    def cancel() -> None:
        with contextlib.suppress(Exception):  # already closed with its thread: nothing runs
            stop()

    return cancel


def was_cancelled(exc: BaseException) -> bool:
    return isinstance(exc, peewee.OperationalError | sqlite3.OperationalError) and any(
        words in str(exc) for words in _STOPPED
    )
