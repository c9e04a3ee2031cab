"""Who else has a conversation open, and whether they are replying: the collision warnings.

Each running app is one *session* (host and pid) and keeps one `Presence` row per
conversation it has open, saying whether its agent only views it or has the composer open.
The app writes the row when a thread or composer opens, refreshes it every `HEARTBEAT`
seconds while it stays open, and deletes it when it closes; a row not refreshed within
`STALE_AFTER` is ignored and swept away by whichever app beats next, so a killed app (or a
machine that went away) leaves nothing that lasts. Plain peewee on both engines: an update
then an insert, never an engine's own upsert.

The times are each app's own clock (`utcnow`), as every timestamp of the desk: machines of a
team keep time by NTP, and `STALE_AFTER` is several heartbeats wide, so a skew of seconds
does not hide anyone.

On a desk without agents (`agents.current()` is None) nothing is written: there is nobody to
name. Names come from other agents' input: `Someone.name` is one plain line, cut short.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from deskterm.desk import agents
from deskterm.errors import NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database, utcnow
from deskterm.store.models import Agent, Presence

log = logging.getLogger("deskterm.desk.presence")

HEARTBEAT = 5.0  # seconds between an open screen's refreshes of its row
STALE_AFTER = timedelta(seconds=20)  # a row older than this is an app that went away
VIEWING, REPLYING = "viewing", "replying"
ACTIVITIES = (VIEWING, REPLYING)  # weakest first: an app both viewing and replying is replying
NAME_CHARS = 40  # a longer name is cut: the warning fits one line


@dataclass(frozen=True)
class Someone:
    """Another agent with the conversation open (the strongest of their sessions' activities)."""

    handle: str
    name: str  # one line, at most NAME_CHARS: safe to show as plain text
    activity: str


def this_session() -> str:
    """This process as the desk knows it: one app (or command) on one machine."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _checked(activity: str) -> str:
    if activity not in ACTIVITIES:
        raise ValueError(f"presence activity {activity!r} is not one of {ACTIVITIES}")
    return activity


def enter(
    conversation_id: int,
    activity: str,
    agent: Agent,
    session: str,
    now: datetime | None = None,
) -> None:
    """Say (again) that `agent`'s `session` has the conversation open: writes or refreshes
    the one row of this session for it."""
    activity = _checked(activity)
    now = now or utcnow()
    with database.atomic():
        changed = (
            Presence.update(agent=agent, activity=activity, seen_at=now)
            .where(Presence.conversation == conversation_id, Presence.session == session)
            .execute()
        )
        if not changed:
            Presence.create(
                conversation=conversation_id,
                agent=agent,
                session=session,
                activity=activity,
                seen_at=now,
            )


def refresh(session: str, now: datetime | None = None) -> int:
    """Keep every row of this session fresh; returns how many there were."""
    return Presence.update(seen_at=now or utcnow()).where(Presence.session == session).execute()


def leave(conversation_id: int, session: str) -> None:
    """This session closed the conversation: its row goes at once."""
    Presence.delete().where(
        Presence.conversation == conversation_id, Presence.session == session
    ).execute()


def sweep(now: datetime | None = None) -> int:
    """Delete the rows of apps that stopped refreshing them; returns how many went."""
    cutoff = (now or utcnow()) - STALE_AFTER
    return Presence.delete().where(Presence.seen_at < cutoff).execute()


def others(conversation_id: int, session: str, now: datetime | None = None) -> list[Someone]:
    """The agents of other sessions that have the conversation open now, replying first.

    Stale rows are ignored (a sweep may not have run yet); an agent open in two sessions is
    listed once, with the stronger activity. Rows of this session are never listed, but the
    same agent in another terminal is: that is a second composer too.
    """
    cutoff = (now or utcnow()) - STALE_AFTER
    rows = (
        Presence.select(Agent.handle, Agent.name, Presence.activity)
        .join(Agent)
        .where(
            Presence.conversation == conversation_id,
            Presence.session != session,
            Presence.seen_at >= cutoff,
        )
        .tuples()
    )
    strongest: dict[str, Someone] = {}
    for handle, name, activity in rows:
        if activity not in ACTIVITIES:
            continue  # a row from a newer deskterm: not ours to guess at
        seen = strongest.get(handle)
        if seen is None or ACTIVITIES.index(activity) > ACTIVITIES.index(seen.activity):
            strongest[handle] = Someone(handle, shown_name(name or handle), activity)
    return sorted(strongest.values(), key=lambda s: (-ACTIVITIES.index(s.activity), s.name.lower()))


def shown_name(name: str) -> str:
    text = one_line(name)
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def sentence(people: list[Someone], activities: tuple[str, ...] = ACTIVITIES) -> str:
    """ "Kim Lee is replying · Sam is viewing" for those doing one of `activities`; "" for none."""
    return " · ".join(f"{p.name} is {p.activity}" for p in people if p.activity in activities)


def current_agent() -> Agent | None:
    """The agent this app writes presence for; None turns presence off.

    A DESKTERM_AGENT naming nobody is the identity check's to report (at start-up and on
    every command that needs the agent); presence is a courtesy and stays off instead of
    repeating that error every few seconds.
    """
    try:
        return agents.current()
    except NotFound:
        return None


@dataclass(eq=False)
class Visit:
    """One open screen's stay on a conversation (a thread, a composer), as `Tracker.open`
    gives it out and `Tracker.close` takes it back."""

    conversation_id: int
    activity: str


class Tracker:
    """The presence of one app: its open screens' visits, written as one row per conversation.

    A thread and the composer over it are two visits of one conversation and one row, whose
    activity is the stronger of the two: closing the composer turns "replying" back into
    "viewing" rather than deleting what the thread still says. `open` only records the visit
    (no I/O, so a screen may call it while mounting); `beat` writes; `close` writes at once,
    so a closed screen's row is gone before the next beat of anyone. The lock keeps a beat in
    a worker thread from writing back a visit that was closed meanwhile.
    """

    def __init__(self, session: str | None = None) -> None:
        self.session = session or this_session()
        self._visits: list[Visit] = []
        self._lock = threading.Lock()

    def open(self, conversation_id: int, activity: str) -> Visit:
        visit = Visit(conversation_id, _checked(activity))
        with self._lock:
            self._visits.append(visit)
        return visit

    def _activity(self, conversation_id: int) -> str | None:
        here = [v.activity for v in self._visits if v.conversation_id == conversation_id]
        return max(here, key=ACTIVITIES.index) if here else None

    def beat(self, conversation_id: int, now: datetime | None = None) -> list[Someone]:
        """Write or refresh this app's rows, sweep stale ones, and say who else has
        `conversation_id` open. Rows swept while this app slept (a suspended laptop) are
        written again here."""
        now = now or utcnow()
        with self._lock:
            open_here = {v.conversation_id for v in self._visits}
            agent = current_agent() if open_here else None
            if agent is not None:
                for cid in sorted(open_here):
                    activity = self._activity(cid)
                    try:
                        if activity is not None:
                            enter(cid, activity, agent, self.session, now)
                    except peewee.IntegrityError:
                        # The conversation was deleted under the open screen: nothing to say.
                        log.debug("presence on deleted conversation %s skipped", cid)
        sweep(now)
        return others(conversation_id, self.session, now)

    def close(self, visit: Visit) -> None:
        with self._lock:
            if visit not in self._visits:
                return
            self._visits.remove(visit)
            still = self._activity(visit.conversation_id)
            if still is None:
                leave(visit.conversation_id, self.session)
                return
            agent = current_agent()
            if agent is not None:
                enter(visit.conversation_id, still, agent, self.session)

    def close_all(self) -> None:
        """The app is quitting: every row of this session goes, whatever is still open."""
        with self._lock:
            self._visits.clear()
            Presence.delete().where(Presence.session == self.session).execute()
