"""A `threading.Event` that a signal handler may set: the worker's wake-up, and the stop of
`deskterm poll`, which its SIGINT/SIGTERM handlers set."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import weakref


class Flag(threading.Event):
    """A `threading.Event` over a self-pipe, for events a signal handler sets.

    A handler runs in the main thread between two bytecodes, possibly inside `wait` itself. A
    lock-and-condition event loses such a wake-up (the handler's notify lands before the waiter
    is registered, and the loop sleeps its whole timeout: a clean-clone CI run saw `deskterm
    poll` ignore SIGINT for that reason) or deadlocks on its own lock. Here `set` writes a byte
    to a pipe, which needs no lock and is async-signal-safe, and `wait` is a `select` on that
    pipe: a byte written at any moment before or during the wait ends it, since the pipe stays
    readable until `clear` drains it. Every method is overridden, so nothing depends on
    threading.Event's internals.
    """

    def __init__(self) -> None:
        super().__init__()
        self._set = False
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        weakref.finalize(self, _close, self._read, self._write)

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        with contextlib.suppress(BlockingIOError):  # a full pipe is already readable
            os.write(self._write, b"!")

    def clear(self) -> None:
        self._set = False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass

    def signal_fd(self) -> int:
        """The pipe's write end, for `signal.set_wakeup_fd`: a signal the kernel delivers to
        another thread (an IDLE reader, the pool) runs Python's handler only when the main
        thread next runs bytecode, which a select with an hour's timeout never does; with
        this fd, the signal's own byte ends the wait, and the handler runs at once."""
        return self._write

    def wait(self, timeout: float | None = None) -> bool:
        # A set() between this check and the select has written its byte: the select sees it.
        if not self._set:
            select.select([self._read], [], [], timeout)
        return self._set


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
