"""A `threading.Event` that a signal handler may set: the worker's wake-up, and the stop of
`deskterm poll`, which its SIGINT/SIGTERM handlers set."""

from __future__ import annotations

import threading


class Flag(threading.Event):
    """A `threading.Event` over a re-entrant lock, for events a signal handler sets.

    A handler runs in the main thread between two bytecodes, possibly while that thread holds
    the event's own lock (inside `wait` or `clear`); with threading.Event's plain lock the
    handler's `set` would then wait for itself forever. Here it gets the lock again, and at
    worst a wake-up that lands in `wait`'s first bytecodes is noticed one sleep later. Every
    method is overridden, so nothing depends on threading.Event's internals.
    """

    def __init__(self) -> None:
        super().__init__()
        self._reentrant = threading.Condition(threading.RLock())
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._reentrant:
            self._set = True
            self._reentrant.notify_all()

    def clear(self) -> None:
        with self._reentrant:
            self._set = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._reentrant:
            if not self._set:
                self._reentrant.wait(timeout)
            return self._set
