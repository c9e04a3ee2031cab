"""The clock of time spent: mounted (hidden) in a thread and in the composer, it measures the
time its screen has the keyboard and writes it as one time entry per stretch (issue 17).

The app notes when a key or mouse action last came (`DeskApp.last_input`, its monotonic
clock); every `TICK` seconds the clock gives that to its `time_spent.Stopwatch` while its
screen is the current one, and pauses it while another screen (the composer over a thread, a
dialog) has the keyboard, so no second is counted twice. A gap longer than
`time_spent.IDLE_AFTER` counts nothing. The entry is written every `time_spent.SAVE_EVERY`
seconds and when the screen goes (in the app's worker, as presence is), so a crash loses at
most a minute; only when its total changed, though: each write is a commit, which on SQLite
moves the desk's data_version and makes every other app reload its list (store/live.py), so
an agent who left a thread open must not cost the team a reload a minute.

Each write adds what was counted since the last one (`time_spent.save_stretch`), so an
agent's correction of the entry while the thread is open stands; the writes of one stretch
take its lock in turn, so none is counted twice, and a failed one is added by the next.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from textual.widget import Widget

from deskterm.desk import status_history, time_spent
from deskterm.store.db import utcnow

log = logging.getLogger("deskterm.widgets.time_clock")

TICK = 2.0  # seconds between looks at the app's last input


@dataclass
class _Stretch:
    """One stretch's entry as written so far: its id (None before the first write) and the
    seconds it holds from this stretch. Its writes run in threads and take `lock` in turn."""

    started_at: datetime
    entry_id: int | None = None
    written: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class TimeClock(Widget):
    DEFAULT_CSS = "TimeClock { display: none; }"

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.watch_: time_spent.Stopwatch | None = None
        self._seen = 0.0
        self._stretch = _Stretch(utcnow())  # follow() starts another

    @property
    def entry_id(self) -> int | None:
        """The running stretch's entry, once written."""
        return self._stretch.entry_id

    def _now(self) -> float:
        return float(self.app.monotonic())  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self._start()
        self.set_interval(TICK, self.tick)
        self.set_interval(time_spent.SAVE_EVERY, self.save)

    def _start(self) -> None:
        now = self._now()
        self.watch_ = time_spent.Stopwatch(started=now)
        self._seen = now
        self._stretch = _Stretch(utcnow())

    def tick(self) -> None:
        """Count the latest input while this screen has the keyboard; pause while not."""
        watch, now = self.watch_, self._now()
        if watch is None:
            return
        if self.app.screen is not self.screen:  # not is_current: a screen seen beneath counts
            if not watch.paused:
                watch.pause(now)
            return
        last = float(getattr(self.app, "last_input", 0.0))
        if last > self._seen:
            self._seen = last
            watch.activity(last)

    def seconds(self) -> int:
        return int(self.watch_.total(self._now())) if self.watch_ is not None else 0

    def save(self) -> None:
        """Write the stretch so far (in a thread: the database may be slow or shared), unless
        it is what was written last (an idle agent's clock stands still)."""
        with contextlib.suppress(Exception):  # the screen is going: what was counted is written
            self.tick()
        seconds, stretch = self.seconds(), self._stretch
        if seconds == stretch.written:
            return
        cid = self.conversation_id
        self.app.run_worker(
            lambda: self._write(stretch, cid, seconds),
            thread=True,
            group="time-clock",
            exit_on_error=False,
            description="saving the time spent",
        )

    def _write(self, stretch: _Stretch, cid: int, seconds: int) -> None:
        """Add what the stretch counted since its last write (a write that ran late, behind
        a newer one, has nothing left to add)."""
        with stretch.lock:
            added = seconds - stretch.written
            if added < 1:
                return
            try:
                written = time_spent.save_stretch(
                    stretch.entry_id,
                    cid,
                    added,
                    agent=status_history.by_whom(),
                    started_at=stretch.started_at,
                )
            except Exception:
                log.warning("time spent on #%s not saved", cid, exc_info=True)
                return
            stretch.entry_id, stretch.written = written, seconds

    def follow(self, conversation_id: int) -> None:
        """The screen shows another conversation (J/K): this stretch ends, another starts."""
        if conversation_id != self.conversation_id:
            self.save()
            self.conversation_id = conversation_id
            self._start()

    def on_unmount(self) -> None:
        self.save()
