"""The worker's wake-up Flag: a set() landing at any point of a wait ends that wait, and so
does a signal the kernel hands to another thread.

A signal handler runs between two bytecodes of the main thread, possibly inside `wait`. The
previous lock-and-condition Flag lost a set() landing after its "already set?" check and
before the waiter was registered: the loop then slept its whole timeout, and `deskterm poll`
ignored Ctrl+C for an hour (seen in a clean-clone CI run). A tracer plays the handler: it
calls set() before the k-th line the wait runs, for every k.

A process-directed signal (Ctrl+C, `kill`) goes to any thread that does not block it; with the
worker's IDLE and pool threads about, often not the main one. Python then runs the handler
only when the main thread next runs bytecode, which a select with an hour's timeout does not:
the Flag's pipe as the signal wakeup fd ends the wait (the CI run's second failure).

Hangs are caught by a timer thread that interrupts the main thread with SIGUSR2 (thread-
directed, so it reaches the select it must end): a detector, not a speed limit.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from deskterm.engine.flag import Flag

HANG = 5.0  # seconds before a wait that should have ended counts as hung

pytestmark = pytest.mark.without_database


class Hung(Exception):
    pass


@contextmanager
def hang_detector(raise_it: Callable[[], BaseException]) -> Iterator[None]:
    """After HANG seconds, raise `raise_it()` in the main thread, wherever it is blocked."""
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main

    def interrupted(*_: object) -> None:
        raise raise_it()

    previous = signal.signal(signal.SIGUSR2, interrupted)
    timer = threading.Timer(HANG, signal.pthread_kill, (main, signal.SIGUSR2))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGUSR2, previous)


class Blocked(Exception):
    """The wait blocked before its k-th line, so set() never ran: every point has been tried."""


def wait_set_before_line(k: int) -> None:
    """Wait (for an hour) on a fresh Flag that is set just before the k-th traced line of the
    wait; a hang after its set() is Hung, one before it is Blocked."""
    flag = Flag()
    lines = 0
    was_set = False

    def verdict() -> BaseException:
        return Hung(f"a set() before line {k} of the wait was lost") if was_set else Blocked()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines, was_set
        if frame.f_code.co_filename == __file__:
            return None  # the detector's own lines are not the wait's
        if event == "line":
            lines += 1
            if lines == k:
                flag.set()
                was_set = True
        return trace

    with hang_detector(verdict):
        sys.settrace(trace)
        try:
            assert flag.wait(3600) is True
        finally:
            sys.settrace(None)


@pytest.mark.skipif(sys.gettrace() is not None, reason="a coverage or debug tracer is active")
def test_a_set_before_any_line_of_the_wait_ends_it() -> None:
    k = 1
    with pytest.raises(Blocked):
        while True:
            wait_set_before_line(k)
            k += 1
    assert k > 2  # the set() was tried before the wait's check and before its blocking call


def test_a_signal_handed_to_another_thread_ends_the_wait_through_the_wakeup_fd() -> None:
    flag = Flag()
    other_ready, other_done = threading.Event(), threading.Event()

    def bystander() -> None:  # an IDLE reader, say: alive, not blocking signals
        other_ready.set()
        other_done.wait(60)

    thread = threading.Thread(target=bystander)
    thread.start()
    other_ready.wait(10)
    previous_handler = signal.signal(signal.SIGUSR1, lambda *_: flag.set())
    previous_fd = signal.set_wakeup_fd(flag.signal_fd(), warn_on_full_buffer=False)
    threading.Timer(0.2, signal.pthread_kill, (thread.ident, signal.SIGUSR1)).start()
    try:
        with hang_detector(lambda: Hung("the signal on the other thread did not end the wait")):
            flag.wait(3600)
        assert flag.is_set()  # the handler ran in the main thread once the wait ended
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGUSR1, previous_handler)
        other_done.set()
        thread.join()


def test_set_from_another_thread_wakes_a_waiter_and_clear_rearms_it() -> None:
    flag = Flag()
    assert flag.wait(0) is False
    threading.Timer(0.05, flag.set).start()
    assert flag.wait(60) is True
    assert flag.is_set()
    flag.clear()
    assert not flag.is_set()
    assert flag.wait(0.01) is False  # the drained pipe no longer wakes
