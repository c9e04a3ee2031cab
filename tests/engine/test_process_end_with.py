"""process.end_with: a child of deskterm ends when the process it serves ends (issue 10, 16).

The parsing processes are children of multiprocessing's forkserver, not of the process whose
pool they serve, so the watch is by pid: here a stand-in `sleep` plays that process and is
killed with SIGKILL. The whole `deskterm poll` is in test_crash_safety.py.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from deskterm import process

pytestmark = pytest.mark.without_database

# Says "checked" at each look (without pidfds), or "waiting" and its timeout as it blocks on
# the pidfd, so the test knows the watch is under way instead of sleeping a guess first.
WATCHER = """
import os, select, sys, time
from deskterm import process
if sys.argv[2] == "poll":
    del os.pidfd_open  # as on a kernel without pidfds
running, wait = process._running, select.select
def checked(pid):
    alive = running(pid)
    print("checked", flush=True)
    return alive
def waiting(*args):
    print("waiting", args[3] if len(args) > 3 else None, flush=True)
    return wait(*args)
process._running, select.select = checked, waiting
process.end_with(int(sys.argv[1]), poll_seconds=0.1)
time.sleep(60)
"""


def watcher(pid: int, how: str) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(pid), how], stdout=subprocess.PIPE, text=True
    )
    return child


@pytest.mark.parametrize("how", ["pidfd", "poll"])
def test_a_watching_process_ends_when_the_watched_one_is_killed(how: str) -> None:
    served = subprocess.Popen(["sleep", "60"])
    child = watcher(served.pid, how)
    try:
        assert child.stdout is not None
        if how == "poll":  # three looks, each finding the served process alive
            assert [child.stdout.readline() for _ in range(3)] == ["checked\n"] * 3
        else:
            assert child.stdout.readline() == "waiting None\n"  # for as long as it takes
        assert child.poll() is None  # it keeps running while the process it serves does
        served.kill()  # SIGKILL; left a zombie (not reaped yet): it has ended all the same
        started = time.monotonic()
        assert child.wait(timeout=5) == process.EXIT_ORPHANED
        print(f"{how}: ended {time.monotonic() - started:.2f} s after the kill")
    finally:
        served.kill()
        served.wait()
        child.kill()
        child.wait()


def test_a_process_started_after_the_watched_one_ended_ends_at_once() -> None:
    served = subprocess.Popen(["true"])
    served.wait()  # gone and reaped: its pid names nothing
    child = watcher(served.pid, "pidfd")
    assert child.wait(timeout=5) == process.EXIT_ORPHANED
