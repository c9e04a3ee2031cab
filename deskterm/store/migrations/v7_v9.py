"""Schema versions 7 to 9: the team desk (agents, notes and mentions, presence, channel
leaders), a PostgreSQL desk announcing its changes, and PostgreSQL's own full-text search."""

from __future__ import annotations

import peewee

from deskterm.store import db as dbmod
from deskterm.store import pg_search
from deskterm.store.migrations.v1_v6 import _unbounded_text


def _v7_team_desk(database: peewee.Database) -> None:
    """The team desk: agents, internal notes and their mentions, who has a conversation open,
    and which machine leads each channel. An older desk's assignees were free text: each
    distinct one becomes an agent (its text the name, a handle made from it), and the
    conversations it had are assigned to that agent's handle."""
    from deskterm.store.models import Agent, ChannelLead, Conversation, Mention, Note, Presence

    new = [Agent, Note, Mention, Presence, ChannelLead]
    fresh = [m for m in new if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)
    named = (
        Conversation.select(Conversation.assignee)
        .where(Conversation.assignee.is_null(False))
        .distinct()
    )
    texts = [text for (text,) in named.tuples()]
    # Texts that are already handles get them first, so a handle made for another text
    # ("Sam" -> "sam-2") can never be a text not yet moved, and no two assignees merge.
    texts.sort(key=lambda text: Agent.free_handle(text) != text)
    for text in texts:
        agent = Agent.create(handle=Agent.free_handle(text), name=text)
        if agent.handle != text:
            Conversation.update(assignee=agent.handle).where(
                Conversation.assignee == text
            ).execute()


def _v8_live_notifications(database: peewee.Database) -> None:
    """A PostgreSQL desk announces its changes (LISTEN/NOTIFY), so each agent's app shows
    what another agent or a worker elsewhere did within a second (store/live_triggers.py).
    SQLite needs nothing: its apps see other connections' commits by `PRAGMA data_version`."""
    from deskterm.store import live_triggers

    if dbmod.is_sqlite(database):
        return
    # Only the tables this desk has now: a later version's tables get theirs when it makes them.
    tables = [t for t in live_triggers.CONVERSATION_OF if database.table_exists(t)]
    for statement in live_triggers.statements(tables):
        database.execute_sql(statement)


def _v9_postgres_search(database: peewee.Database) -> None:
    """Full-text search on PostgreSQL with its own machinery (`pg_search`: a generated
    tsvector per message and a GIN index, accents ignored through `unaccent`), built here for
    every message the desk already holds. SQLite has had FTS5 since v2: nothing to do."""
    if not dbmod.is_sqlite(database):
        pg_search.install(database)
