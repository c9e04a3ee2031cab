"""Time agents spend on conversations: measured while a thread or composer has the keyboard,
or logged by hand, and read back per conversation.

Measured time is a `Stopwatch` per focused stretch: each key (or mouse action) counts the
time since the previous one, unless the gap was longer than `IDLE_AFTER` (the agent was
away: that gap counts nothing). The app writes the stretch as one `TimeEntry`, rewritten
with its growing total every `SAVE_EVERY` seconds, so a crash loses at most that much.
Logged time (`deskterm time add 42 15m`, a key in the thread) is an entry of its own.
Sums per agent, organization and period are the reports' (desk/reports.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import fn

from deskterm.desk import agents
from deskterm.desk.queries import get_conversation
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import TimeEntry

IDLE_AFTER = 180.0  # seconds without a key after which the clock stops (and that gap is lost)
SAVE_EVERY = 60.0  # seconds between writes of a running stretch: what a crash can lose
MAX_ENTRY = 24 * 3600  # one logged entry: a day at most (a typo like 15h for 15m is caught)
MAX_NOTE = 500

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)", re.IGNORECASE)
_CLOCK = re.compile(r"(\d+):([0-5]\d)")
_HOW = "write it as 15m, 1h30m, 1.5h or 1:30"


def parse_duration(text: str) -> int:
    """Seconds for what an agent typed: `15m`, `1h30m`, `1h 30m`, `1.5h`, `90s`, `1:30`
    (hours:minutes), or a bare number of minutes."""
    typed = text.strip().lower()
    seconds: float
    if re.fullmatch(r"\d+(?:\.\d+)?", typed):
        seconds = float(typed) * 60
    elif clock := _CLOCK.fullmatch(typed):
        seconds = int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
    elif typed and _PART.sub("", typed).strip() == "":
        units = {"h": 3600, "m": 60, "s": 1}
        seconds = sum(float(n) * units[u] for n, u in _PART.findall(typed))
    else:
        raise ConfigError(f"{one_line(text)!r} is not a length of time; {_HOW}.")
    if seconds < 1:
        raise ConfigError(f"{one_line(text)!r} is no time at all; {_HOW}.")
    if seconds > MAX_ENTRY:
        raise ConfigError("One entry may be at most 24 hours; log longer work as several.")
    return round(seconds)


def format_duration(seconds: int | float) -> str:
    """`3d 04h`, `2h 05m`, `15m`, `40s`: how the desk shows a time spent or waited."""
    whole = round(seconds)
    if whole >= 2 * 86400:
        days, rest = divmod(whole, 86400)
        return f"{days}d {rest // 3600:02d}h"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


@dataclass
class Stopwatch:
    """One focused stretch, in the app's monotonic seconds. `total(now)` is pure, so the
    time written at any moment never counts a gap twice, nor one that turns out idle."""

    started: float
    idle_after: float = IDLE_AFTER
    counted: float = 0.0  # up to `last`
    last: float = 0.0
    paused: bool = False

    def __post_init__(self) -> None:
        self.last = self.started

    def activity(self, now: float) -> None:
        """A key or mouse action at `now`: the time since the last one counts if it was short."""
        gap = now - self.last
        if not self.paused and 0 < gap <= self.idle_after:
            self.counted += gap
        self.last = max(self.last, now)
        self.paused = False

    def pause(self, now: float) -> None:
        """The screen lost the keyboard (another screen on top, the app left): what ran up to
        now counts if it was not idle, nothing after."""
        self.activity(now)
        self.paused = True

    def total(self, now: float) -> float:
        """Seconds counted so far, the running gap included while it is not idle."""
        gap = now - self.last
        running = gap if not self.paused and 0 < gap <= self.idle_after else 0.0
        return self.counted + running


def save_stretch(
    entry_id: int | None,
    conversation_id: int,
    added: int,
    *,
    agent: str | None,
    started_at: datetime,
) -> int | None:
    """Add a measured stretch's `added` seconds (counted since its last write) to its entry:
    a new entry when `entry_id` is None, once there is a second to show. Returns the entry's
    id (None: nothing worth writing yet).

    The clock adds rather than writes its total, so that an agent's correction of the entry
    made while the thread is still open (`edit`, from the time entries screen over it) stands
    and the clock counts on from it. An entry removed meanwhile stays removed: what the
    clock counts next goes into a new entry, started now.
    """
    if added < 1:
        return entry_id
    if entry_id is not None:
        grown = TimeEntry.update(seconds=TimeEntry.seconds + added).where(TimeEntry.id == entry_id)
        if grown.execute():
            return entry_id
        started_at = utcnow()
    return int(
        TimeEntry.insert(
            conversation=conversation_id,
            agent=agent,
            seconds=added,
            started_at=started_at,
            source="clock",
        ).execute()
    )


def add(
    conversation_id: int,
    seconds: int,
    *,
    note: str = "",
    agent: str | None = None,
    started_at: datetime | None = None,
) -> dict[str, object]:
    """Log time by hand for `agent` (a handle or address; None: the agent at this keyboard,
    if the desk knows one). Returns the entry as `time list --json` shows it."""
    get_conversation(conversation_id)
    _check_length(seconds)
    text = _checked_note(note)
    handle = agents.get(agent).handle if agent else _me()
    entry = TimeEntry.create(
        conversation=conversation_id,
        agent=handle,
        seconds=seconds,
        started_at=started_at or utcnow(),
        source="manual",
        note=text,
    )
    return _shown(entry)


def edit(
    entry_id: int,
    *,
    seconds: int | None = None,
    note: str | None = None,
    started_at: datetime | None = None,
) -> dict[str, object]:
    """Correct an entry: its length, its note or when it started (None leaves each as it is).

    The same checks as `add`; an entry the clock measured may be corrected too (an agent
    who forgot the thread open over lunch), and keeps saying it was measured. A thread
    still open on it adds what it counts next to the corrected length (`save_stretch`).
    Only the entry's own agent, or an admin, may change someone else's (`_require_own`).
    """
    changes: dict[Any, object] = {}
    if seconds is not None:
        _check_length(seconds)
        changes[TimeEntry.seconds] = seconds
    if note is not None:
        changes[TimeEntry.note] = _checked_note(note)
    if started_at is not None:
        changes[TimeEntry.started_at] = started_at
    with database.atomic():
        entry = _owned(entry_id, "change")
        if changes:
            TimeEntry.update(changes).where(TimeEntry.id == entry_id).execute()
    return _shown(TimeEntry.get_by_id(entry.id))


def remove(entry_id: int) -> None:
    """Remove an entry: the agent's own, or anyone's for an admin (`_require_own`)."""
    with database.atomic():
        _owned(entry_id, "remove")
        TimeEntry.delete().where(TimeEntry.id == entry_id).execute()


def get(entry_id: int) -> dict[str, object]:
    """One entry as `time list --json` shows it (the TUI's form is filled from it)."""
    return _shown(_entry(entry_id))


def _entry(entry_id: int) -> TimeEntry:
    entry = TimeEntry.get_or_none(TimeEntry.id == entry_id)
    if entry is None:
        raise NotFound(
            f"There is no time entry {entry_id}; `deskterm time list ID` shows a "
            "conversation's entries."
        )
    return entry


def _owned(entry_id: int, what: str) -> TimeEntry:
    """The entry, if the person at this keyboard may `what` it.

    An agent's time is theirs to correct: another agent may not shrink or drop it (the
    reports pay it per agent), but an admin may, as they may remove agents. On a desk
    without agents, or with no admin named yet, `agents.may_administer` lets everyone, as
    it does for every admin's part. An entry nobody is named on needs an admin there too.
    """
    entry = _entry(entry_id)
    theirs = entry.agent is None or entry.agent != _me()
    if theirs and not agents.may_administer():
        raise ConfigError(
            f"Time entry {entry_id} is {one_line(entry.agent or 'nobody')}'s; only they "
            f"or an admin may {what} it (`deskterm agent list` shows who is one)."
        )
    return entry


def _check_length(seconds: int) -> None:
    if not 1 <= seconds <= MAX_ENTRY:
        raise ConfigError("One entry may be at most 24 hours; log longer work as several.")


def _checked_note(note: str) -> str:
    """The note as stored: one line of the agent's text, control characters dropped; shown
    through `one_line` again wherever it is drawn, as anything an agent typed."""
    text = one_line(note)
    if len(text) > MAX_NOTE:
        raise ConfigError(f"A note on logged time may be at most {MAX_NOTE} characters long.")
    return text


def entries(conversation_id: int) -> list[dict[str, object]]:
    """A conversation's time, oldest first."""
    get_conversation(conversation_id)
    query = (
        TimeEntry.select()
        .where(TimeEntry.conversation == conversation_id)
        .order_by(TimeEntry.started_at, TimeEntry.id)
    )
    return [_shown(entry) for entry in query]


def total(conversation_id: int) -> int:
    """Seconds spent on a conversation, by every agent (the thread's header shows it)."""
    query = TimeEntry.select(fn.SUM(TimeEntry.seconds)).where(
        TimeEntry.conversation == conversation_id
    )
    return int(query.scalar() or 0)


def _me() -> str | None:
    agent = agents.current()
    return agent.handle if agent is not None else None


def _shown(entry: TimeEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "conversation": entry.conversation_id,
        "agent": entry.agent,
        "seconds": entry.seconds,
        "spent": format_duration(entry.seconds),
        "started_at": iso(entry.started_at),
        "source": entry.source,
        "note": entry.note,
    }
