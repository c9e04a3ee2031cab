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

WATCHER = """
import os, sys, time
if sys.argv[2] == "poll":
    del os.pidfd_open  # as on a kernel without pidfds
from deskterm.process import end_with
end_with(int(sys.argv[1]), poll_seconds=0.1)
print("watching", flush=True)
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
        assert child.stdout.readline() == "watching\n"
        time.sleep(0.3)
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
