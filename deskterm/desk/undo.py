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
from dataclasses import dataclass

KEPT = 100  # changes remembered; the oldest go first

FieldValue = str | bool | tuple[str, ...] | None


@dataclass(frozen=True)
class Change:
    conversation_id: int
    field: str
    before: FieldValue
    after: FieldValue


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
        self._changes: deque[Change] = deque(maxlen=kept)

    def record(self, change: Change) -> None:
        if change.before != change.after:  # setting what was already there changes nothing
            self._changes.append(change)

    def pop(self) -> Change | None:
        return self._changes.pop() if self._changes else None

    def __len__(self) -> int:
        return len(self._changes)
