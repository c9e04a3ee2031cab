"""The desk's worker lock: one worker (`deskterm poll`, the app's, `deskterm send`) per desk.

An advisory lock on a file in the desk's home, held for the whole run and let go by the
kernel when the process ends, however it ends. That is one machine's SQLite desk; a team
desk elects a worker per channel instead (engine.leadership).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator

from deskterm import paths
from deskterm.errors import DeskError
from deskterm.store import connection


@contextlib.contextmanager
def worker_lock() -> Iterator[None]:
    """One `deskterm poll` per desk: a second would fetch the same mail at the same time."""
    path = paths.home() / "worker.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeskError(
                "Another `deskterm poll` is already running for this desk; stop it first, or "
                "let it do the polling."
            ) from None
        yield
    finally:
        handle.close()


def worker_running() -> bool:
    """Whether a separate worker holds the desk's lock (the TUI then uses its results).

    Never on a team desk: there every app runs a worker of its own, which leads the channels
    no other worker leads and this machine holds the secrets of (engine.leadership).
    """
    if connection.shared_database():
        return False
    try:
        with worker_lock():
            return False
    except DeskError:
        return True
