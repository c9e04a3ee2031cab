"""The parsing pool: the processes that parse mail beside the poll loop.

Started on first use (a poll that has enough mail for it), through a forkserver that has the
parsing code imported once; dropped when one of its processes died, and started afresh by the
next use.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import forkserver, resource_tracker

from deskterm import process

# What the forkserver imports once, for every parsing process to start from: the code the
# pool's tasks run. multiprocessing skips a name that fails to import without a word (then
# each process imports the parser itself), so tests/test_worker.py imports each of them.
FORKSERVER_PRELOAD = ["deskterm.engine.forkserver_start", "deskterm.inbound.imap_sync"]
POOL_DIED = (
    "A mail-parsing process of deskterm died (perhaps the system ran short of memory); the "
    "mail it was parsing is fetched again by the next poll."
)


class ParsingPool:
    def __init__(self, niceness: int = 0) -> None:
        """`niceness` lowers the CPU priority of the parsing processes (the app sets it, so
        that on two cores a first sync never makes typing wait)."""
        self.niceness = niceness
        self._executor: Executor | None = None

    def executor(self) -> Executor:
        """The running pool, started now if there is none (or it broke while idle)."""
        if self._executor is not None and getattr(self._executor, "_broken", False):
            # A process died while the pool was idle (concurrent.futures marks the pool but
            # says so only as the next task fails): start afresh instead of failing a run.
            self.discard()
        if self._executor is None:
            # forkserver: the IDLE threads make plain fork unsafe. The server imports the
            # parsing code once and every worker starts from that copy, instead of each
            # importing it again (0.4 CPU-seconds apiece, on a first sync that is CPU-bound).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(FORKSERVER_PRELOAD)
            # multiprocessing gives its helper process stderr's descriptor, and inside the app
            # sys.stderr is Textual's capture, whose fileno() is -1: every big first sync in
            # the app failed with "bad value(s) in fds_to_keep". Start it with the real one.
            # Both helpers and every parsing process inherit the environment they start with:
            # started here, without the secrets deskterm was given (process.without_secrets).
            stderr = sys.__stderr__ or sys.stderr
            with contextlib.redirect_stderr(stderr), process.without_secrets():
                resource_tracker.ensure_running()
                forkserver.ensure_running()
            # Each worker ends when this process does, even by SIGKILL: else the workers, the
            # forkserver and the resource tracker outlive it for good (process.end_with).
            self._executor = ProcessPoolExecutor(
                max_workers=2,
                mp_context=context,
                initializer=process.parsing_process_start,
                initargs=(os.getpid(), self.niceness),
            )
        return self._executor

    def close(self) -> None:
        """Stop the processes, dropping the tasks not yet started."""
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def discard(self) -> None:
        """Drop a broken pool; the next `executor()` starts a new one. Its surviving processes
        are ended by concurrent.futures itself, so there is nothing to wait for."""
        if self._executor is not None:
            with contextlib.suppress(Exception):
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
