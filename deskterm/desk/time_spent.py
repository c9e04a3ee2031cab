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
    seconds: int,
    *,
    agent: str | None,
    started_at: datetime,
) -> int | None:
    """Write a measured stretch: a new entry (`entry_id` None) once it has a second to show,
    else the entry's new total. Returns the entry's id (None: nothing worth writing yet)."""
    if entry_id is None:
        if seconds < 1:
            return None
        return int(
            TimeEntry.insert(
                conversation=conversation_id,
                agent=agent,
                seconds=seconds,
                started_at=started_at,
                source="clock",
            ).execute()
        )
    TimeEntry.update(seconds=seconds).where(TimeEntry.id == entry_id).execute()
    return entry_id


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
    if not 1 <= seconds <= MAX_ENTRY:
        raise ConfigError("One entry may be at most 24 hours; log longer work as several.")
    text = one_line(note)
    if len(text) > MAX_NOTE:
        raise ConfigError(f"A note on logged time may be at most {MAX_NOTE} characters long.")
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


def remove(entry_id: int) -> None:
    with database.atomic():
        if not TimeEntry.delete().where(TimeEntry.id == entry_id).execute():
            raise NotFound(
                f"There is no time entry {entry_id}; `deskterm time list ID` shows them."
            )


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
