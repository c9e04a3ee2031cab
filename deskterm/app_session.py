"""The app's session with the desk: the engine worker, the secret store, and hearing changes.

Apart from `app.py` so the app itself stays about starting, stopping, toasts and errors.
`DeskApp` mixes in `DeskSession`, which runs the engine's `Worker.run_forever` in a thread
worker, unless a separate `deskterm poll` holds the desk's lock, in which case the app only
watches the database. Engine events arrive through `call_from_thread`; list refreshes are
coalesced into at most one per `REFRESH_DELAY`, however fast batches commit. What other
agents, the CLI or a worker elsewhere write is heard through `deskterm.store.live`
(LISTEN/NOTIFY on PostgreSQL, SQLite's data_version) and goes the same coalesced way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.reactive import reactive

from deskterm.desk import agents, queries
from deskterm.engine.events import DeliveryResult, Event, Note, RunFinished, SyncProgress
from deskterm.engine.worker import Worker
from deskterm.errors import DeskError
from deskterm.outbound.delivery import in_plain_words
from deskterm.sanitize import one_line
from deskterm.screens.words import tui_sentence, tui_words
from deskterm.store import connection, live

if TYPE_CHECKING:
    from deskterm.screens.unlock import TuiSecrets
    from deskterm.widgets.new_mail_bell import NewMailBell

log = logging.getLogger("deskterm.ui")

REFRESH_DELAY = 0.5  # seconds: engine events within this window cause one list reload
ENGINE_NICENESS = 10  # how far below the UI the engine's thread and processes run


class DeskSession:
    """Mixed into `DeskApp`, whose `__init__` gives it the attributes below and whose
    `on_mount` starts it (`open_secrets`, `_run_engine`, `live.follow(self._heard_desk)`,
    `read_channels`) and `on_unmount` stops it."""

    engine: Worker | None
    secrets: TuiSecrets
    new_mail_bell: NewMailBell
    _stop: threading.Event
    _refresh_pending: bool
    _external: bool

    desk_version: reactive[int] = reactive(0)  # bumped when the desk changed under the UI
    worker_state: reactive[str] = reactive("off")
    activity: reactive[str] = reactive("")
    channel_summary: reactive[str] = reactive("")
    last_poll: reactive[datetime | None] = reactive(None)  # when the newest run finished

    class DeskChanged(Message):
        """The desk changed under the app (what `deskterm.store.live` heard)."""

        def __init__(self, changes: list[live.Change]) -> None:
            super().__init__()
            self.changes = changes

    class ChannelStates(Message):
        def __init__(self, summary: str, last_poll: datetime | None = None) -> None:
            super().__init__()
            self.summary = summary
            self.last_poll = last_poll

    # --- the engine worker -------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="engine",
        exit_on_error=False,
        description="polling channels",
    )
    def _run_engine(self) -> None:
        # The engine yields the CPU to the UI: on two cores a first sync (this thread, two
        # parsing processes, often the mail server too) otherwise kept keys waiting 60-100 ms.
        # Linux gives each thread its own priority, inherited by the threads it starts.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ENGINE_NICENESS)
        self.engine = Worker(
            store=self.secrets, on_event=self._heard, stop=self._stop, niceness=ENGINE_NICENESS
        )
        self._tell(self._engine_state, "on")
        try:
            self.engine.run_forever()
        except DeskError as exc:  # a `deskterm poll` took the lock in the meantime
            self._tell(self._engine_lost, tui_sentence(exc))
        finally:
            connection.close_database()  # this thread's connection

    @work(
        thread=True,
        exclusive=True,
        group="secrets",
        exit_on_error=False,
        description="opening the secret store",
    )
    def open_secrets(self, again: bool = False) -> None:
        """Open the secret store, asking for the vault's passphrase now rather than mid-poll."""
        try:
            if again:
                self.secrets.unlock_again()
            else:
                self.secrets.open()
        except DeskError as exc:  # locked (Esc), or no usable store: say so once, carry on
            self._tell(self.report, exc)
            return
        if again:
            self._tell(self.notify, "The vault is unlocked.")
        self.recheck_channels()

    def recheck_channels(self) -> None:
        """The engine running here, if any, reads the channels again now rather than at its
        next pass (a channel was resumed or activated, trusts a new pin, or can be signed in
        to now). Safe from any thread."""
        if self.engine is not None:
            self.engine.recheck()

    def stop_engine(self) -> None:
        self._stop.set()
        if self.engine is not None:
            self.engine.request_stop()

    def poll_now(self, channel_id: int | None = None, name: str = "") -> None:
        """Have the worker poll one channel (`channel_id`, called `name`), or every active
        one, at once: the screens ask here, never the worker object itself."""
        if self.engine is None:
            self.notify(
                "No worker runs in this desk, so there is nothing to poll now.",
                severity="warning",
                markup=False,
            )
            return
        self.engine.poll_now(channel_id)
        what = one_line(name) if channel_id is not None else "every active channel"
        self.notify(f"Polling {what} now.", markup=False)

    def _heard_desk(self, changes: list[live.Change]) -> None:
        """Called in the live thread: another connection changed the desk (another agent,
        the CLI, a worker elsewhere; on SQLite also this app's own engine). A message, not
        `call_from_thread`: that waits for the screen, and on_unmount waits for this thread."""
        if not self._stop.is_set():
            self.post_message(self.DeskChanged(changes))

    def on_desk_session_desk_changed(self, message: DeskChanged) -> None:
        if any(change.table in (None, "agent") for change in message.changes):
            agents.forget()  # another connection may have changed this app's agent
        self.schedule_refresh()

    def _heard(self, event: Event) -> None:
        """Called in engine threads (the poll loop and IDLE watchers)."""
        self._tell(self._on_engine_event, event)

    def _tell(self, callback: Callable[..., None], *args: Any) -> None:
        if self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the app has already stopped
            self.call_from_thread(callback, *args)

    def _engine_state(self, state: str) -> None:
        self.worker_state = state

    def _engine_lost(self, message: str) -> None:
        self._external = True
        self.worker_state = "in `deskterm poll`"
        log.info("engine not started: %s", message)

    def _on_engine_event(self, event: Event) -> None:
        match event:
            case SyncProgress(channel=channel, folder=folder, done=done, total=total):
                self.activity = f"{one_line(channel)} {one_line(folder)} {done}/{total}"
                if done:
                    self.schedule_refresh()  # a batch was committed
            case RunFinished(channel=channel, run=run):
                self.activity = ""
                if run.error:
                    self.notify(
                        f"{one_line(channel)}: {one_line(tui_words(run.error))}",
                        severity="error",
                        markup=False,
                    )
                else:  # the channel works again: its error toasts are old news
                    self.drop_errors(f"{one_line(channel)}: ")
                if run.ingested:
                    with self.reporting("tell of the new mail"):
                        self.new_mail_bell.heard(channel, run.ingested)
                self.schedule_refresh()
                self.read_channels()
            case DeliveryResult():  # a reply left the outbox (or failed to)
                self.notify(
                    f"Reply to #{event.conversation_id}: "
                    f"{in_plain_words(event.state, event.detail)}",
                    severity="error" if event.state != "sent" else "information",
                    markup=False,
                )
                self.schedule_refresh()
            case Note(channel=channel, message=message) if message:
                # idle, notice, skipped: worth a glance, not a pop-up
                self.activity = f"{one_line(channel)}: {one_line(message)}"

    def _to_terminal(self, text: str) -> None:
        """Write our own escape sequence (the new-mail bell's) straight to the terminal."""
        if self._driver is not None and not self._driver.is_headless:
            self._driver.write(text)

    def schedule_refresh(self) -> None:
        """Reload the visible list soon, once for any number of events until then."""
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(REFRESH_DELAY, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_pending = False
        self.desk_version += 1

    # --- channel states --------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="channels",
        exit_on_error=False,
        description="reading the channels",
    )
    def read_channels(self) -> None:
        report = queries.job_report(limit=1)
        states = report["channels"]
        last = report["runs"][0] if report["runs"] else None
        when = last and (last["finished_at"] or last["started_at"])
        last_poll = datetime.fromisoformat(when).replace(tzinfo=None) if when else None
        self.post_message(self.ChannelStates(summarize(states), last_poll))

    def on_desk_session_channel_states(self, message: ChannelStates) -> None:
        self.channel_summary = message.summary
        self.last_poll = message.last_poll

    if TYPE_CHECKING:  # what the app provides

        def call_from_thread(self, callback: Callable[..., Any], *args: Any) -> Any: ...
        def post_message(self, message: Message) -> bool: ...
        def set_timer(self, delay: float, callback: Callable[[], None]) -> Any: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def drop_errors(self, starting: str = "", *, refresh: bool = True) -> None: ...
        def reporting(self, doing: str) -> contextlib.AbstractContextManager[None]: ...
        def report(self, error: BaseException, doing: str = "") -> None: ...

        _driver: Any


def summarize(states: list[dict[str, str]]) -> str:
    """Channel states in a few words: "support: ok" or "3 ok, 1 failing"."""
    if not states:
        return "no channels yet"
    if len(states) <= 2:
        return ", ".join(f"{s['name']}: {s['state']}" for s in states)
    counts: dict[str, int] = {}
    for state in states:
        counts[state["state"]] = counts.get(state["state"], 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())
