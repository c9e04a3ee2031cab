"""What the worker tells its listeners (CLI progress, TUI status bar): one class per kind.

Listeners dispatch on the class (`match event: case SyncProgress(): ...`), so a kind the
engine adds or renames is a name a type checker and a grep can follow, never a string that
quietly stops matching. Events are made in engine threads (the poll loop, IDLE watchers) and
carry plain values, so a listener may hand them to another thread as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # a listener module (the CLI's) imports this without loading the database
    from deskterm.store.models import JobRun


@dataclass(frozen=True)
class EngineEvent:
    """What every event has: when it happened (`time.monotonic`)."""

    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(frozen=True)
class ChannelEvent(EngineEvent):
    """An event about one channel, named as the admin named it (shown through one_line)."""

    channel: str


@dataclass(frozen=True)
class SyncProgress(ChannelEvent):
    """A poll's progress in one folder: `done` of `total` mails (0 right after the search)."""

    folder: str
    done: int
    total: int


@dataclass(frozen=True)
class RunFinished(ChannelEvent):
    """A poll ended; its record says what it fetched, and `run.error` why it failed, if so."""

    run: JobRun


@dataclass(frozen=True)
class DeliveryResult(EngineEvent):
    """A reply left the outbox, or failed to (`state`: sent | queued | failed)."""

    conversation_id: int
    state: str
    detail: str = ""

    @property
    def summary(self) -> str:
        return f"{self.state}: {self.detail}"


@dataclass(frozen=True)
class LoopPass(EngineEvent):
    """The long-running loop came round (holding the desk), at the start of every pass: at
    least every few seconds, so a service manager can tell a live worker from a hung one
    (engine.sd_notify makes the first READY=1 and each WATCHDOG=1). Listeners may ignore it."""


@dataclass(frozen=True)
class Note(ChannelEvent):
    """A sentence about a channel, worth a glance and no more (the kinds below)."""

    message: str


@dataclass(frozen=True)
class IdleChanged(Note):
    """A channel's IDLE session connected, was lost, or is not offered by its server."""


@dataclass(frozen=True)
class ChannelSkipped(Note):
    """A channel `deskterm poll --once` did not poll, and why (paused, cooling off, ...)."""


@dataclass(frozen=True)
class Notice(Note):
    """Something else the agent should know (a failing-channel notification that failed)."""


@dataclass(frozen=True)
class LeadChanged(Note):
    """This worker took a channel's lead on a team desk, or lost it (`leading` says which):
    from then on it polls and sends for the channel, or stops touching it."""

    leading: bool = True


Event: TypeAlias = (
    SyncProgress
    | RunFinished
    | DeliveryResult
    | LoopPass
    | IdleChanged
    | ChannelSkipped
    | Notice
    | LeadChanged
)
Listener = Callable[[Event], None]
