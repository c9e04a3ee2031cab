"""Indexing a whole batch of new messages for search in one statement.

SQLite's FTS5 index follows the message table through triggers (schema v2), so every write
path indexes without knowing. But a trigger indexes row by row: on a first sync of 10,000
messages that was 0.55 of the writer's 2.8 CPU-seconds, where one INSERT ... SELECT per batch
costs 0.05. `deferred` turns the insert trigger off for the caller's transaction and indexes
the rows it added at the end. The switch is a row changed inside that same transaction, so no
other connection ever sees it on (SQLite has one writer at a time), and a rollback or a crash
undoes it together with the rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from deskterm.store.db import database, is_sqlite
from deskterm.store.migrations.v1_v6 import FTS_COLUMNS


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside: messages inserted are not indexed one by one; on leaving, all of them at once."""
    if not is_sqlite(database.obj):
        yield
        return
    with database.atomic():
        (before,) = database.execute_sql("SELECT coalesce(max(id), 0) FROM message").fetchone()
        database.execute_sql("UPDATE search_control SET deferred = 1")
        yield
        # Ids only grow: everything above the old maximum was inserted in this transaction.
        database.execute_sql(
            f"INSERT INTO message_fts(rowid, {FTS_COLUMNS}) "
            f"SELECT id, {FTS_COLUMNS} FROM message WHERE id > ?",
            (before,),
        )
        database.execute_sql("UPDATE search_control SET deferred = 0")
