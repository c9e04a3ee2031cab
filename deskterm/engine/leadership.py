"""Who polls and sends for each channel: exactly one worker, wherever the workers run.

On one machine's SQLite desk the desk's file lock (engine.lock) makes one worker the only
one, and it leads every channel. On a team desk (PostgreSQL) any number of `deskterm poll`
processes and agents' apps run on many machines, and each channel is led by whichever of
them holds its advisory lock (store.advisory): the others keep trying at every pass of their
loop (at most 5 s apart), so when a leader dies the server frees its lock and another worker
takes the channel over within a poll interval. A machine that lacks a channel's secrets
never tries to lead it, and a leader checks that it still holds the lock before each batch
it fetches and before it sends, so one whose connection broke stops touching the channel.

Taking the lead is also when what a killed leader left behind is tidied (`tidy`): its replies
left `sending` are queued again and its runs left open are closed. The ChannelLead row
(channels.leaders) tells people who leads; only the lock decides.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

from deskterm.channels import leaders
from deskterm.channels import registry as channels
from deskterm.channels.signin import holds_secrets, missing_secrets
from deskterm.channels.typed import ChannelConfig
from deskterm.engine.events import LeadChanged, Listener, Notice
from deskterm.engine.lock import worker_lock
from deskterm.outbound import outbox, sla_notices
from deskterm.store import connection
from deskterm.store.advisory import AdvisoryLocks, channel_key, desk_key
from deskterm.store.db import utcnow
from deskterm.store.models import Channel, ChannelLead, JobRun

# Written into a run that a killed worker left open: the new leader holds the lock, so no
# other run can still be going on.
INTERRUPTED = "The run was interrupted (the worker was killed) before it finished."
# How often a leader refreshes its ChannelLead row's seen_at (well inside STALE_AFTER).
SEEN_EVERY = 20.0
# The desk-wide duty of mailing SLA warnings and breach notices (outbound/sla_notices.py).
SLA_DUTY = "sla notices"


def tidy(channel: Channel | None = None) -> None:
    """What a killed worker left behind, put right by the worker that now leads (the whole
    desk's when `channel` is None): replies left `sending` go back in the queue, and runs
    still open (a SIGKILL ends a worker between `JobRun.create` and its save) are closed with
    INTERRUPTED, else `deskterm jobs` would show them running forever."""
    outbox.recover_interrupted(channel)
    stale = JobRun.update(finished_at=utcnow(), error=INTERRUPTED).where(
        JobRun.finished_at.is_null()
    )
    if channel is not None:
        stale = stale.where(JobRun.channel == channel)
    stale.execute()


class LeadStop(threading.Event):
    """The stop a sync is given: set when the worker stops, and also as soon as the worker no
    longer leads the channel (asked between batches: a leader whose lock connection broke
    ends the sync after the batch in hand instead of fetching another)."""

    def __init__(self, stop: threading.Event, still_leads: Callable[[], bool]) -> None:
        super().__init__()
        self._stop = stop
        self._still_leads = still_leads

    def is_set(self) -> bool:
        return self._stop.is_set() or not self._still_leads()


class Leadership:
    """This worker's leads; the base is the SQLite desk's, where the file lock held for the
    whole run makes this worker lead every channel."""

    def __init__(self) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._seen: dict[int, float] = {}  # channel id -> when its row was last refreshed
        self._sla_taken = False

    def sends_sla_notices(self) -> bool:
        """Whether this worker mails the desk's SLA notices now. Only a machine with the
        desk's own SMTP server configured takes the duty; on a SQLite desk that is its one
        worker. Taking it first settles what a killed predecessor left half sent."""
        if not sla_notices.enabled():
            return False
        if not self._sla_taken:
            sla_notices.recover()
            self._sla_taken = True
        return True

    def leads(self, channel: Channel) -> bool:
        """Whether this worker polls and sends for the channel now (taking the lead if it is
        free and this machine may hold it)."""
        if channel.status == "active":  # only active channels are polled and send
            self._note(channel)
        return True

    def still_leads(self, channel: Channel) -> bool:
        """Whether the lead taken is still held, asked right before fetching or sending."""
        return True

    def holding(self, channel: Channel) -> bool:
        """Whether this worker believes it leads the channel (no round trip: for the screens)."""
        return True

    def why_not(self, channel: Channel) -> str:
        """Why `leads` said no, in one sentence for `deskterm poll --once` and `send`."""
        return ""

    def stop_for(self, channel: Channel, stop: threading.Event) -> threading.Event:
        return stop

    def close(self) -> None:
        """Stop leading: the rows that name this worker go."""
        with contextlib.suppress(Exception):  # ending anyway; the rows turn stale by themselves
            leaders.let_go(list(self._seen), self.host, self.pid)
        self._seen.clear()

    def _note(self, channel: Channel) -> None:
        """Write the channel's ChannelLead row when the lead is new, refresh it now and then."""
        last = self._seen.get(channel.id)
        now = time.monotonic()
        if last is None:
            leaders.took(channel, self.host, self.pid)
        elif now - last >= SEEN_EVERY:
            leaders.seen(channel, self.host, self.pid)
        else:
            return
        self._seen[channel.id] = now


class ChannelLeads(Leadership):
    """A team desk's: one advisory lock per channel, on the lock connection of this worker."""

    def __init__(self, locks: AdvisoryLocks, store: Callable[[], object], on_event: Listener):
        super().__init__()
        self.locks = locks
        self._store = store
        self._on_event = on_event

    def leads(self, channel: Channel) -> bool:
        key = channel_key(channel.uid)
        if key in self.locks.held():
            return self.still_leads(channel)
        if channel.status != "active" or not holds_secrets(channel, self._store()):
            return False
        if not self.locks.try_lock(key):
            return False
        tidy(channel)
        self._seen.pop(channel.id, None)
        self._note(channel)
        self._on_event(LeadChanged(channel.name, f"this worker now leads {channel.name}"))
        return True

    def still_leads(self, channel: Channel) -> bool:
        if self.locks.holds(channel_key(channel.uid)):
            self._note(channel)
            return True
        if self._seen.pop(channel.id, None) is not None:
            self._on_event(
                LeadChanged(
                    channel.name,
                    f"this worker lost the lead of {channel.name} (its database connection "
                    "broke); another worker takes it over",
                    leading=False,
                )
            )
        return False

    def holding(self, channel: Channel) -> bool:
        return channel_key(channel.uid) in self.locks.held()

    def sends_sla_notices(self) -> bool:
        """A team desk's: whichever worker holds the desk-wide SLA lock (and has the SMTP
        server); the others keep asking at each pass, so a dead holder is replaced."""
        if not sla_notices.enabled():
            return False
        key = desk_key(SLA_DUTY)
        if key in self.locks.held():
            if self.locks.holds(key):
                return True
            self._sla_taken = False
            return False
        if not self.locks.try_lock(key):
            return False
        sla_notices.recover()
        self._sla_taken = True
        self._on_event(Notice("(desk)", "this worker now mails the SLA notices"))
        return True

    def why_not(self, channel: Channel) -> str:
        if channel.status != "active":
            return f"the channel is {channel.status}; only active channels are polled"
        if missing := missing_secrets(channel, self._store()):
            return _lacking(channel, missing)
        lead = leaders.describe(ChannelLead.get_or_none(ChannelLead.channel == channel.id))
        if lead["state"] == "none":
            return "another worker leads it (it has not said which yet)"
        return f"another worker leads it: {leaders.in_words(lead)}"

    def stop_for(self, channel: Channel, stop: threading.Event) -> threading.Event:
        return LeadStop(stop, lambda: self.still_leads(channel))

    def close(self) -> None:
        super().close()
        self.locks.close()


def _lacking(channel: Channel, missing: list[tuple[str, bool]]) -> str:
    """Why a machine never leads a channel whose secrets it lacks, and what stores one here:
    a machine holding one side's password is not told it holds none of them."""
    config = ChannelConfig.of(channel)
    if len(missing) == len([s for s in channels.SIDES if config.side(s) is not None]):
        return (
            "this machine holds none of its secrets, so it never leads it; the worker "
            "that holds them polls and sends"
        )
    side, oauth2 = missing[0]
    how = (
        f"`deskterm channel auth {channel.name}` signs it in here"
        if oauth2
        else f"`deskterm channel secret {channel.name} --{side} --stdin` stores it here"
    )
    what = "sign-in" if oauth2 else "password"
    return (
        f"this machine lacks its {side} {what}, so it never leads it (the leader polls and "
        f"sends); {how}"
    )


@contextlib.contextmanager
def claim(
    store: Callable[[], object], on_event: Listener, name: str | None = None
) -> Iterator[Leadership]:
    """This worker's leadership for its run: the desk's file lock on SQLite (refused in one
    sentence while another worker holds it, and the desk tidied at once), or a team desk's
    per-channel locks, taken channel by channel as the worker's loop asks."""
    locks = connection.channel_locks()
    if locks is None:
        with worker_lock():
            tidy(channels.get(name) if name else None)
            lead = Leadership()
            try:
                yield lead
            finally:
                lead.close()
        return
    team = ChannelLeads(locks, store, on_event)
    try:
        yield team
    finally:
        team.close()
