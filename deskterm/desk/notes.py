"""Internal notes on a conversation, and the agents they mention.

A note is for agents only: it lives in its own table, never in `Message`, so nothing that
builds mail (replies and their quote, forwards, acknowledgements, the outbox) can ever pick
one up. The thread and `deskterm show` read notes through `queries.conversation_detail`,
among the messages in time order.

A note's text comes from an agent's keyboard or a script, and other agents' terminals show
it: it is stored cleaned (`sanitize.clean`: control, bidi and invisible characters out, lines
kept), never empty and never longer than `MAX_CHARS`.

Mentions: `@handle` in a note names an agent (any case; trailing punctuation such as
`@sam.` or `@sam,` still names sam). Only existing agents' handles count: an unknown
`@word`, and an address such as `sam@example.com`, stay text. The author mentioning
themselves makes no mention (they know). A mention is seen once its agent opens the
conversation in the app, whichever way they came (the Mentions view, the list, J/K): what
they were told about is then in front of them. `deskterm show` does not mark it (as it does
not mark a conversation read: scripts read too); `deskterm mentions --seen ID` does.
"""

from __future__ import annotations

import re
from typing import Any

import peewee

from deskterm.desk import agents
from deskterm.desk.queries import get_conversation, note_item
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import clean
from deskterm.store.db import database
from deskterm.store.models import Agent, Conversation, Mention, Note

MAX_CHARS = 10_000  # a note is a remark to colleagues, not a document

# `@` not glued to a word before it (so `sam@example.com` is an address, not a mention),
# then a handle's characters (agents.HANDLE, any case).
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][A-Za-z0-9._-]{0,31})")


def checked_text(text: str) -> str:
    """The note as it is stored and shown: cleaned, stripped, not empty, not too long."""
    cleaned = clean(text).strip()
    if not cleaned:
        raise ConfigError("The note is empty; write something first.")
    if len(cleaned) > MAX_CHARS:
        raise ConfigError(
            f"The note is {len(cleaned):,} characters long; keep it under {MAX_CHARS:,}."
        )
    return cleaned


def mentioned(text: str) -> list[Agent]:
    """The agents a text names as `@handle`, each once, in the order they are named."""
    words = [match.group(1).lower() for match in _MENTION.finditer(text)]
    if not words:
        return []
    # One query for every candidate: each word, and each word without trailing punctuation
    # (`@sam.` at a sentence's end; a handle may itself end in '.', '_' or '-').
    candidates = {w for word in words for w in (word, word.rstrip("._-")) if w}
    known = {a.handle: a for a in Agent.select().where(Agent.handle.in_(list(candidates)))}
    found: dict[str, Agent] = {}
    for word in words:
        agent = known.get(word) or known.get(word.rstrip("._-"))
        if agent is not None:
            found.setdefault(agent.handle, agent)
    return list(found.values())


def add(conversation_id: int, text: str) -> Note:
    """A note on the conversation by the agent at this keyboard (`agents.current()`; nobody
    on a desk without agents), with a mention for each other agent it names. The
    conversation's `updated_at` is left alone: it is the customer's latest activity, and
    orders the list (see desk/triage.py)."""
    body = checked_text(text)
    conversation = get_conversation(conversation_id)
    author = agents.current()
    with database.atomic():
        note = Note.create(conversation=conversation, author=author, text=body)
        named = [a for a in mentioned(body) if author is None or a.id != author.id]
        if named:
            Mention.insert_many([{"note": note.id, "agent": a.id} for a in named]).execute()
    return note


def who(handle: str | None = None) -> Agent:
    """The agent whose mentions are meant: the one named, else the one at this keyboard."""
    if handle:
        return agents.get(handle)
    agent = agents.current()
    if agent is None:
        raise NotFound(
            "This desk does not know who you are: set DESKTERM_AGENT to your handle "
            "(`deskterm agent list` shows them)."
        )
    return agent


def mentions(agent: Agent, *, include_seen: bool = False) -> list[dict[str, Any]]:
    """The agent's mentions, unseen first, newest first within each, with the conversation
    and the note; only the unseen ones unless `include_seen`."""
    author = Agent.alias()
    query = (
        Mention.select(Mention, Note, Conversation, author)
        .join(Note)
        .join(Conversation)
        .switch(Note)
        .join(author, peewee.JOIN.LEFT_OUTER, on=(Note.author == author.id))
        .where(Mention.agent == agent.id)
        .order_by(Mention.seen, Note.created_at.desc(), Note.id.desc())
    )
    if not include_seen:
        query = query.where(Mention.seen == False)  # noqa: E712 - peewee's SQL, not Python
    return [
        {
            "id": row.id,
            "seen": row.seen,
            "conversation": {
                "id": row.note.conversation.id,
                "subject": row.note.conversation.subject,
                "status": row.note.conversation.status,
            },
            "note": note_item(row.note),
        }
        for row in query
    ]


def unseen_count(agent: Agent) -> int:
    return Mention.select().where((Mention.agent == agent.id) & (Mention.seen == False)).count()  # noqa: E712


def mark_seen(conversation_id: int, agent: Agent) -> int:
    """The agent's mentions in this conversation are seen; returns how many were not."""
    notes = Note.select(Note.id).where(Note.conversation == conversation_id)
    return (
        Mention.update(seen=True)
        .where(
            (Mention.agent == agent.id) & (Mention.note.in_(notes)) & (Mention.seen == False)  # noqa: E712
        )
        .execute()
    )


def opened(conversation_id: int) -> int:
    """The agent at this keyboard opened the conversation: their mentions in it are seen.

    A desk without agents has nobody to mark for. A DESKTERM_AGENT naming nobody marks
    nothing here, since reading the thread must not fail for it; writing a note or listing
    mentions says so.
    """
    try:
        agent = agents.current()
    except NotFound:
        return 0
    return 0 if agent is None else mark_seen(conversation_id, agent)
