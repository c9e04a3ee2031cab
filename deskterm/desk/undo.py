"""What a triage change replaced, so that `u` (or a script) can put it back.

Each change `deskterm.desk.triage` makes while given a `History` is recorded as a `Change`:
the conversation, the one field it touched ("status", "priority", "assignee", "unread" or
"tags"), the value before and the value after. Undoing is triage's too (`triage.undo`), so
triage stays the only code that writes a conversation's state; this module only remembers.

A history lives in memory, one per app session (or CLI run): it is the agent's own recent
moves, not an audit log, and it is bounded so that a day at the keyboard does not grow it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

KEPT = 100  # changes remembered; the oldest go first

FieldValue = str | bool | tuple[str, ...] | None


@dataclass(frozen=True)
class Change:
    conversation_id: int
    field: str
    before: FieldValue
    after: FieldValue


@dataclass(frozen=True)
class Batch:
    """Changes made together (one bulk change over marked conversations): one undo takes
    them all back."""

    changes: tuple[Change, ...]


def describe(field: str, value: FieldValue) -> str:
    """A field's value as the end of "#12 is ...": "pending", "high priority", "unassigned",
    "assigned to kim", "tagged a, b", "untagged", "unread", "read"."""
    if field == "priority":
        return f"{value} priority"
    if field == "assignee":
        return f"assigned to {value}" if value else "unassigned"
    if field == "tags":
        return f"tagged {', '.join(value)}" if isinstance(value, tuple) and value else "untagged"
    if field == "unread":
        return "unread" if value else "read"
    return str(value)


class History:
    """The changes of one session, newest last."""

    def __init__(self, kept: int = KEPT) -> None:
        self._changes: deque[Change | Batch] = deque(maxlen=kept)
        self._gathering: list[Change] | None = None

    def record(self, change: Change) -> None:
        if change.before == change.after:  # setting what was already there changes nothing
            return
        if self._gathering is not None:
            self._gathering.append(change)
        else:
            self._changes.append(change)

    @contextmanager
    def together(self) -> Iterator[None]:
        """The changes recorded inside become one entry (a `Batch`), undone at once; none
        when the block fails (its transaction is rolled back with it)."""
        if self._gathering is not None:  # already inside one: the outer batch takes them
            yield
            return
        self._gathering = []
        try:
            yield
            gathered = tuple(self._gathering)
        finally:
            self._gathering = None
        if len(gathered) == 1:
            self._changes.append(gathered[0])
        elif gathered:
            self._changes.append(Batch(gathered))

    def pop(self) -> Change | Batch | None:
        return self._changes.pop() if self._changes else None

    def __len__(self) -> int:
        return len(self._changes)
