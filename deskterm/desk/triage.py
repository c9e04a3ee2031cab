"""Changing a conversation's state: status, priority, assignee, tags, read or unread.

The UI's keys and (later) the CLI and rules all call these, so a value the desk does not know
is refused the same way everywhere, with one sentence that says what is allowed.

None of these touch `updated_at`: it means "the customer's latest activity" and orders the
list, so triaging a conversation must not make it jump to the top under the agent's cursor.

Given a `History` (desk/undo.py), each change records the value it replaced, and `undo` puts
the latest one back: the app's `u` and any script undo through here, so this module stays the
only one that writes a conversation's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext

from deskterm.desk import agents, sla, status_history
from deskterm.desk import status as lifecycle
from deskterm.desk.queries import get_conversation as _get
from deskterm.desk.undo import Batch, Change, FieldValue, History, describe
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import PRIORITIES, Conversation, ConversationTag

# The order `p` steps through: from the usual priority up first (raising is what an agent does
# most). The statuses' cycle is the lifecycle's (desk/status.py).
PRIORITY_CYCLE = ("normal", "high", "low")
MAX_NAME = 100


def set_status(conversation_id: int, status: str, *, history: History | None = None) -> str:
    _change(conversation_id, "status", lifecycle.checked(status), history)
    return status


def cycle_status(conversation_id: int, *, history: History | None = None) -> str:
    """Move to the next status (open -> pending -> resolved -> closed -> open)."""
    status = lifecycle.next_status(_get(conversation_id).status)
    return set_status(conversation_id, status, history=history)


def set_priority(conversation_id: int, priority: str, *, history: History | None = None) -> str:
    if priority not in PRIORITIES:
        raise ConfigError(f"Priority {priority!r} is not known; use {', '.join(PRIORITIES)}.")
    _change(conversation_id, "priority", priority, history)
    return priority


def cycle_priority(conversation_id: int, *, history: History | None = None) -> str:
    """Move to the next priority (normal -> high -> low -> normal)."""
    priority = _next(PRIORITY_CYCLE, _get(conversation_id).priority)
    return set_priority(conversation_id, priority, history=history)


def assign(
    conversation_id: int, assignee: str | None, *, history: History | None = None
) -> str | None:
    """Give the conversation to an agent (handle, `@handle`, address, or `me`) or to nobody
    (None, empty, `none`); returns the handle stored. Never free text: an unknown name is
    refused with the sentence saying how to see the agents (`agents.assignee`)."""
    handle = agents.assignee(assignee)
    _change(conversation_id, "assignee", handle, history)
    return handle


def mark_read(conversation_id: int, read: bool = True, *, history: History | None = None) -> None:
    _change(conversation_id, "unread", not read, history)


def toggle_unread(conversation_id: int, *, history: History | None = None) -> bool:
    """Mark a read conversation unread again (to come back to it), an unread one read;
    returns whether it is unread now."""
    unread = not _get(conversation_id).unread
    _change(conversation_id, "unread", unread, history)
    return unread


def add_tag(conversation_id: int, tag: str) -> str:
    tag = _name(tag, "A tag").lower()
    if not tag:
        raise ConfigError("A tag cannot be empty.")
    _get(conversation_id)
    ConversationTag.insert(conversation=conversation_id, tag=tag).on_conflict_ignore().execute()
    return tag


def remove_tag(conversation_id: int, tag: str) -> None:
    ConversationTag.delete().where(
        ConversationTag.conversation == conversation_id,
        ConversationTag.tag == one_line(tag).lower(),
    ).execute()


def change_tags(conversation_id: int, text: str, *, history: History | None = None) -> list[str]:
    """Apply what an agent typed: `+word` or a plain word adds, `-word` removes (e.g.
    "+urgent -billing vip"). Every word is checked before any change; returns the tags now."""
    adds: list[str] = []
    removes: list[str] = []
    for word in text.split():
        sign, name = (word[0], word[1:]) if word[0] in "+-" else ("+", word)
        if not one_line(name):
            raise ConfigError(f"{word!r} names no tag; write +tag to add or -tag to remove.")
        (removes if sign == "-" else adds).append(_name(name, "A tag"))
    _get(conversation_id)
    before = tuple(tags(conversation_id))
    with database.atomic():
        for name in adds:
            add_tag(conversation_id, name)
        for name in removes:
            remove_tag(conversation_id, name)
    now = tags(conversation_id)
    if history is not None:
        history.record(Change(conversation_id, "tags", before, tuple(now)))
    return now


def tags(conversation_id: int) -> list[str]:
    query = ConversationTag.select(ConversationTag.tag).where(
        ConversationTag.conversation == conversation_id
    )
    return sorted(tag for (tag,) in query.tuples())


def state(conversation_id: int) -> dict[str, object]:
    """What triage decides about a conversation, as `deskterm status|assign|tag --json` print it."""
    conversation = _get(conversation_id)
    return {
        "id": conversation.id,
        "status": conversation.status,
        "priority": conversation.priority,
        "assignee": conversation.assignee,
        "unread": bool(conversation.unread),
        "tags": tags(conversation_id),
    }


def for_all(
    conversation_ids: Iterable[int],
    change: Callable[..., object],
    *args: object,
    history: History | None = None,
) -> int:
    """Apply one change (`set_status`, `set_priority`, `assign`, `change_tags`, `mark_read`,
    with its arguments after the id) to every conversation given: all or none (one
    transaction), recorded as one entry so that one undo takes the whole change back. Returns
    how many conversations it was applied to."""
    ids = list(dict.fromkeys(conversation_ids))
    with database.atomic(), history.together() if history is not None else nullcontext():
        for conversation_id in ids:
            change(conversation_id, *args, history=history)
    return len(ids)


def undo(history: History) -> str | None:
    """Put back what the latest recorded change replaced, and say so in one sentence ("#12 is
    open again."); None when there is nothing to undo. A conversation changed since (the
    customer wrote, another agent triaged it) is left as it is and the sentence says why.
    A bulk change (`for_all`) is undone whole, or not at all when any of its conversations
    changed since."""
    entry = history.pop()
    if entry is None:
        return None
    changes = entry.changes if isinstance(entry, Batch) else (entry,)
    values = _values(changes)
    present = set(agents.handles()) if any(c.field == "assignee" for c in changes) else set()
    for change in changes:
        cid, field = change.conversation_id, change.field
        if cid not in values:
            raise NotFound(f"There is no conversation #{cid}.")
        now = values[cid][field]
        if now != change.after:
            raise ConfigError(
                f"#{cid} changed since ({describe(field, now)} now, not "
                f"{describe(field, change.after)}); nothing was undone."
            )
        if field == "assignee" and change.before and change.before not in present:
            raise ConfigError(
                f"{change.before} is no longer an agent, so #{cid} cannot go back to them; "
                "nothing was undone."
            )
    with database.atomic():
        for change in reversed(changes):
            _restore(change)
    if len(changes) == 1:
        change = changes[0]
        return f"#{change.conversation_id} is {describe(change.field, change.before)} again."
    ids = {change.conversation_id for change in changes}
    if len(ids) == 1:  # several fields of one conversation (a macro)
        return f"#{ids.pop()} is as it was."
    said = {describe(change.field, change.before) for change in changes}
    back = f"{said.pop()} again" if len(said) == 1 else "as they were"
    return f"{len(ids)} conversations are {back}."


def _restore(change: Change) -> None:
    """Put one change back; `undo` has checked the field still holds `change.after`."""
    cid, field = change.conversation_id, change.field
    if field == "tags":
        before = change.before if isinstance(change.before, tuple) else ()
        after = change.after if isinstance(change.after, tuple) else ()
        for tag in set(after) - set(before):
            remove_tag(cid, tag)
        for tag in set(before) - set(after):
            ConversationTag.insert(conversation=cid, tag=tag).on_conflict_ignore().execute()
    else:
        _update(cid, **{field: change.before})


def _values(changes: tuple[Change, ...]) -> dict[int, dict[str, FieldValue]]:
    """The fields the changes touched, as they are now, per conversation (missing ones left
    out): two queries for a bulk change, not one or two per conversation."""
    ids = list({change.conversation_id for change in changes})
    found: dict[int, dict[str, FieldValue]] = {}
    rows = Conversation.select(
        Conversation.id,
        Conversation.status,
        Conversation.priority,
        Conversation.assignee,
        Conversation.unread,
    ).where(Conversation.id.in_(ids))
    for row in rows:
        found[row.id] = {
            "status": row.status,
            "priority": row.priority,
            "assignee": row.assignee,
            "unread": row.unread,
        }
    if any(change.field == "tags" for change in changes):
        tagged: dict[int, list[str]] = {cid: [] for cid in found}
        query = ConversationTag.select(ConversationTag.conversation, ConversationTag.tag).where(
            ConversationTag.conversation.in_(list(found))
        )
        for cid, tag in query.tuples():
            tagged[cid].append(tag)
        for cid, names in tagged.items():
            found[cid]["tags"] = tuple(sorted(names))
    return found


def _value(conversation_id: int, field: str) -> FieldValue:
    if field == "tags":
        _get(conversation_id)
        return tuple(tags(conversation_id))
    value: FieldValue = getattr(_get(conversation_id), field)
    return value


def _change(conversation_id: int, field: str, value: FieldValue, history: History | None) -> None:
    """Write one field, recording what it replaced when a history is kept."""
    before = _value(conversation_id, field) if history is not None else None
    _update(conversation_id, **{field: value})
    if history is not None:
        history.record(Change(conversation_id, field, before, value))


def _update(conversation_id: int, **values: object) -> None:
    """Write fields of one conversation; a status that changes is kept in its history (the
    reports' backlog), in the same transaction."""
    with database.atomic():
        old = None
        if "status" in values:
            row = Conversation.select(Conversation.status).where(Conversation.id == conversation_id)
            old = row.scalar()
        changed = Conversation.update(values).where(Conversation.id == conversation_id).execute()
        if changed and ("status" in values or "priority" in values):
            sla.refresh([conversation_id])  # its clock stops, resumes, or takes another policy
        if changed and old is not None:
            new = str(values["status"])
            if old != new:
                status_history.record(conversation_id, old, new, agent=status_history.by_whom())
    if not changed:
        raise NotFound(f"There is no conversation #{conversation_id}.")


def _next(cycle: tuple[str, ...], current: str) -> str:
    return cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else cycle[0]


def _name(value: str, what: str) -> str:
    """A name typed by an agent: one line, no control characters, of a sane length."""
    name = one_line(value)
    if len(name) > MAX_NAME:
        raise ConfigError(f"{what} may be at most {MAX_NAME} characters long.")
    return name
