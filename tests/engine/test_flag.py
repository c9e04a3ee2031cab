"""The worker's wake-up Flag: a set() landing at any point of a wait ends that wait.

A signal handler runs between two bytecodes of the main thread, possibly inside `wait`. The
previous lock-and-condition Flag lost a set() landing after its "already set?" check and
before the waiter was registered: the loop then slept its whole timeout, and `deskterm poll`
ignored Ctrl+C for an hour (seen in a clean-clone CI run). A tracer plays the handler: it
calls set() before the k-th line the wait runs, for every k.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import pytest

from deskterm.engine.flag import Flag

pytestmark = pytest.mark.without_database


class Hung(Exception):
    pass


class Blocked(Exception):
    """The wait blocked before its k-th line, so set() never ran: every point has been tried."""


def wait_set_before_line(k: int) -> None:
    """Wait (for an hour) on a fresh Flag that is set just before the k-th traced line of the
    wait. An alarm ends a wait still blocked after its set() (Hung) or before it (Blocked)."""
    flag = Flag()
    lines = 0
    was_set = False

    def hung(*_: object) -> None:
        if was_set:
            raise Hung(f"a set() before line {k} of the wait was lost")
        raise Blocked

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines, was_set
        if frame.f_code is hung.__code__:
            return None  # the alarm's own lines are not the wait's
        if event == "line":
            lines += 1
            if lines == k:
                flag.set()
                was_set = True
        return trace

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)  # a hang detector, not a speed limit: a lost set() sleeps the hour
    sys.settrace(trace)
    try:
        assert flag.wait(3600) is True
    finally:
        sys.settrace(None)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(sys.gettrace() is not None, reason="a coverage or debug tracer is active")
def test_a_set_before_any_line_of_the_wait_ends_it() -> None:
    k = 1
    with pytest.raises(Blocked):
        while True:
            wait_set_before_line(k)
            k += 1
    assert k > 2  # the set() was tried before the wait's check and before its blocking call


def test_set_from_another_thread_wakes_a_waiter_and_clear_rearms_it() -> None:
    flag = Flag()
    assert flag.wait(0) is False
    threading.Timer(0.05, flag.set).start()
    assert flag.wait(60) is True
    assert flag.is_set()
    flag.clear()
    assert not flag.is_set()
    assert flag.wait(0.01) is False  # the drained pipe no longer wakes
