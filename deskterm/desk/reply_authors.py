"""Who sent each outgoing mail of a thread: "Sam replied", as the thread shows it and
`deskterm show` prints it (both read `sent_by` from queries.conversation_detail, so they
agree).

The author is recorded when the mail is queued (`Message.agent`, the handle of
`agents.current()` through `status_history.by_whom`); mail sent before deskterm recorded it
has none and is said to be by an unknown agent, never guessed from the assignee. Names are
agents' own input: one plain line here, shown as plain text by the callers.
"""

from __future__ import annotations

from typing import Any

from deskterm.sanitize import one_line
from deskterm.store.models import Agent, Message

AUTOMATIC = "Sent automatically by the desk"
UNKNOWN = "Sent by an unknown agent (before deskterm recorded who replied)"


def agent_names() -> dict[str, str]:
    """Every agent's handle and name (a desk has tens of agents, not thousands): one query
    per thread, whatever its length. Empty: a desk without agents."""
    return dict(Agent.select(Agent.handle, Agent.name).tuples())


def author_fields(message: Message, names: dict[str, str]) -> dict[str, Any]:
    """`agent` (handle), `agent_name` and `sent_by` (the sentence) of one message; all None
    for received mail."""
    if message.direction != "out":
        return {"agent": None, "agent_name": None, "sent_by": None}
    handle = message.agent
    name = names.get(handle) if handle else None
    return {
        "agent": handle,
        "agent_name": name,
        "sent_by": sent_by(message, handle, name, team=bool(names)),
    }


def sent_by(message: Message, handle: str | None, name: str | None, *, team: bool) -> str | None:
    """The sentence under an outgoing mail's header. A removed agent is named by the handle
    kept; on a desk without agents an unrecorded author is its one person: nothing to say."""
    headers = message.headers or {}
    if handle:
        who = one_line(name) if name else f"@{handle}"
        return f"{who} forwarded this" if headers.get("forwarded") is not None else f"{who} replied"
    if headers.get("auto-submitted") not in (None, "no"):
        return AUTOMATIC
    return UNKNOWN if team else None
