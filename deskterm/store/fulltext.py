"""Which messages a typed search finds, on either engine, with the same meaning.

A search is its words (runs of letters, digits and `_`), each matched as the beginning of a
word in a message's subject, sender's address, sender's name or text, in any order, ignoring
case and accents: FTS5 on SQLite (`message_fts`, schema v2), the `message.search` tsvector and
its GIN index on PostgreSQL (schema v8, `pg_search`). Text with no word in it (`-`, `%`) is
looked for as it is, with LIKE, in subjects and texts. This is the only place that writes
either engine's search SQL, so the desk's read model (`desk.filters`) stays engine-neutral.
"""

from __future__ import annotations

import re

import peewee

from deskterm.store.db import is_sqlite
from deskterm.store.models import Message
from deskterm.store.pg_search import COLUMN

QUERY_WORDS = 32  # words of a search used (a long paste is not 10,000 prefix scans)
SEARCH_CHARACTERS = 1_000  # of a typed search used; SQLite refuses a LIKE over 50,000 bytes


def typed(search: str) -> str:
    """The search as the engines take it: its first SEARCH_CHARACTERS, without NUL, which
    PostgreSQL's text cannot hold (its driver refuses the whole query) and no mail's stored
    text has there."""
    return search.replace("\x00", "")[:SEARCH_CHARACTERS]


def words(search: str) -> list[str]:
    """The words of a search that are matched, at most QUERY_WORDS of them."""
    return re.findall(r"\w+", typed(search))[:QUERY_WORDS]


def message_condition(search: str, *, by_id: bool = True) -> peewee.Expression:
    """Messages the search finds. With `by_id` False, SQLite may not reach the messages
    through the matches' ids (the caller narrows them otherwise, e.g. by conversation)."""
    found = words(search)
    if not found:
        text = typed(search)
        return Message.subject.contains(text) | Message.text.contains(text)
    database = Message._meta.database
    if is_sqlite(database.obj):
        # Each word a quoted FTS5 string (its `"` doubled), so nothing typed is FTS5 syntax.
        match = " ".join('"' + word.replace('"', '""') + '"*' for word in found)
        hits = peewee.SQL("(SELECT rowid FROM message_fts WHERE message_fts MATCH ?)", [match])
        # `+ 0`: the same ids, but no longer the table's key, so not a way into the table.
        column = Message.id if by_id else Message.id + 0
        return column.in_(hits)
    # The words, not the typed text: deskterm_search_query normalises and quotes each.
    query = peewee.fn.deskterm_search_query(peewee.Value(found, unpack=False))
    return peewee.Expression(peewee.Column(Message, COLUMN), "@@", query)
