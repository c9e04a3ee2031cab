"""The terminal desk: `deskterm` (and `deskterm demo`) open this Textual app.

The app is a thin shell over the engine. It runs the engine's `Worker.run_forever` in a thread
worker, unless a separate `deskterm poll` holds the desk's lock, in which case it only watches
the database. Engine events arrive through `call_from_thread`; list refreshes are coalesced
into at most one per `REFRESH_DELAY`, however fast batches commit. What other agents, the CLI
or a worker elsewhere write is heard through `deskterm.store.live` (LISTEN/NOTIFY on
PostgreSQL, SQLite's data_version) and goes the same coalesced way. Screens (under `screens/`)
read through `deskterm.desk.queries` and change state through `deskterm.desk.triage`.

Errors a person can act on (`DeskError`) become one-sentence notifications; anything else is
logged and reported as a bug in one sentence too. Nothing from a mail or a server is ever
given to Textual as markup (`markup=False`, `Content`, or segments built by hand).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar

from textual import events, work
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker as TextualWorker
from textual.worker import WorkerState

from deskterm import settings
from deskterm.desk import agents, attachments, presence, queries
from deskterm.engine.events import DeliveryResult, Event, Note, RunFinished, SyncProgress
from deskterm.engine.lock import worker_running
from deskterm.engine.worker import Worker
from deskterm.errors import DeskError
from deskterm.outbound.delivery import in_plain_words
from deskterm.sanitize import clean, one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.help import HelpScreen, binding_rows
from deskterm.screens.identity import ask_who_if_unknown
from deskterm.screens.unlock import TuiSecrets
from deskterm.screens.words import tui_sentence, tui_words
from deskterm.store import connection, db, live
from deskterm.widgets.key_order import KeyOrderApp
from deskterm.widgets.new_mail_bell import NewMailBell

log = logging.getLogger("deskterm.ui")

REFRESH_DELAY = 0.5  # seconds: engine events within this window cause one list reload
ENGINE_NICENESS = 10  # how far below the UI the engine's thread and processes run
# What counts as the agent at work for the clock of time spent (widgets/time_clock.py).
INPUT_EVENTS = (
    events.Key,
    events.Paste,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
)


class DeskApp(KeyOrderApp[None]):  # keys in typing order: widgets/key_order.py
    TITLE = "deskterm"
    # Toasts keep out of the thread's way at 80x24: no blank lines around their text, and all
    # of them together take at most a third of the screen; an error goes after a short time.
    CSS = """
    Toast { padding: 0 1; margin-top: 0; max-width: 50%; }
    ToastRack { max-height: 33%; }
    """
    NOTIFICATION_TIMEOUT = 4
    ERROR_TIMEOUT: ClassVar[float] = 6
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Keys (help)", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit"),
    ]

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

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        run_worker: bool = True,
        refresh_seconds: float = 5.0,
    ) -> None:
        """`clock` is "now" for ages (tests fix it); `run_worker=False` never polls."""
        super().__init__()
        self.clock = clock or db.utcnow
        self.run_worker_thread = run_worker
        self.refresh_seconds = refresh_seconds
        self.engine: Worker | None = None
        self._stop = threading.Event()
        self._refresh_pending = False
        self._external = False
        self.live: live.Follower | None = None  # hears the desk change under us (on_mount)
        # The one secret store of this run, shared by the engine and the channel screens;
        # it unlocks the vault through a dialog (see screens/unlock.py).
        self.secrets = TuiSecrets(self, self._stop)
        self.new_mail_bell = NewMailBell(self._to_terminal)  # DESKTERM_NEW_MAIL; off by default
        # Which conversations this app has open, for the other agents' collision warnings.
        self.presence = presence.Tracker()
        # When a key or mouse action last came, for the clock of time spent (TimeClock).
        self.monotonic: Callable[[], float] = time.monotonic
        self.last_input = 0.0

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, INPUT_EVENTS):
            self.last_input = self.monotonic()
        await super().on_event(event)

    def get_default_screen(self) -> Screen[Any]:
        return ConversationsScreen()

    def on_mount(self) -> None:
        self.open_secrets()
        ask_who_if_unknown(self)  # a team desk: which agent this is, asked once
        if self.run_worker_thread:
            if worker_running():
                self._external = True
                self.worker_state = "in `deskterm poll`"
            else:
                self.worker_state = "starting"
                self._run_engine()
        self.live = live.follow(self._heard_desk)
        self.read_channels()
        self.set_interval(self.refresh_seconds, self.read_channels)
        # Copies of attachments that a crashed desk opened: gone at the next start.
        attachments.sweep_opened_copies()

    def on_unmount(self) -> None:
        self.stop_engine()
        try:  # this app's presence goes now, not when it turns stale for the others
            self.presence.close_all()
        except Exception:
            log.warning("presence rows left to go stale", exc_info=True)
        if self.live is not None:
            self.live.stop()

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

    def poll_now(self) -> None:
        if self.engine is None:
            self.notify(
                "No worker runs in this desk, so there is nothing to poll now.",
                severity="warning",
                markup=False,
            )
            return
        self.engine.poll_now()
        self.notify("Polling every active channel now.", markup=False)

    def _heard_desk(self, changes: list[live.Change]) -> None:
        """Called in the live thread: another connection changed the desk (another agent,
        the CLI, a worker elsewhere; on SQLite also this app's own engine). A message, not
        `call_from_thread`: that waits for the screen, and on_unmount waits for this thread."""
        if not self._stop.is_set():
            self.post_message(self.DeskChanged(changes))

    def on_desk_app_desk_changed(self, message: DeskChanged) -> None:
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

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast of the desk, from any screen or widget, through the one sanitiser.

        Screens and widgets notify through the app, so this is the one place: text from mail
        or from a server (an address in "queued for ...", an SMTP reply) is shown without its
        escape sequences, and never as markup (a subject `[@click=app.quit]` stays text). An
        error stays `ERROR_TIMEOUT` seconds at most (a longer `timeout` is cut to it), or until
        an action goes well (its notice clears it).
        """
        if severity == "error":
            timeout = min(timeout or self.ERROR_TIMEOUT, self.ERROR_TIMEOUT)
        elif severity == "information":  # an action went well: the errors before it are old
            self.drop_errors(refresh=False)
        super().notify(
            clean(str(message)),
            title=one_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def drop_errors(self, starting: str = "", *, refresh: bool = True) -> None:
        """Take the error toasts (those whose text starts with `starting`) off the screen."""
        for shown in list(self._notifications):
            if shown.severity == "error" and shown.message.startswith(starting):
                self._unnotify(shown, refresh=False)
        if refresh:
            self._refresh_notifications()

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

    def on_desk_app_channel_states(self, message: ChannelStates) -> None:
        self.channel_summary = message.summary
        self.last_poll = message.last_poll

    def on_worker_state_changed(self, event: TextualWorker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            if event.worker.group == "engine":
                self.worker_state = "stopped"
            self.report(event.worker.error, event.worker.description)

    # --- errors ------------------------------------------------------------------------

    def report(self, error: BaseException, doing: str = "") -> None:
        """One sentence for any failure: the DeskError's own, or a bug report for the rest."""
        if isinstance(error, DeskError):  # in the TUI's words: keys, not CLI commands
            self.notify(tui_sentence(error), severity="error", markup=False)
            return
        log.error("%s failed", doing or "an action", exc_info=error)
        what = f"{doing[:1].upper()}{doing[1:]}" if doing else "That"
        self.notify(
            f"{what} failed unexpectedly ({type(error).__name__}); this is a bug, please "
            "report it (DESKTERM_DEBUG=1 shows details).",
            severity="error",
            markup=False,
        )

    @contextlib.contextmanager
    def reporting(self, doing: str) -> Iterator[None]:
        """Run an action, turning any failure into a notification (the app stays up)."""
        try:
            yield
        except Exception as exc:
            if settings.current().debug and not isinstance(exc, DeskError):
                raise
            self.report(exc, f"trying to {doing}")

    def action_channels(self) -> None:
        from deskterm.screens.channels import ChannelsScreen

        self.push_screen(ChannelsScreen())

    def action_reports(self) -> None:
        from deskterm.screens.reports import ReportsScreen

        self.push_screen(ReportsScreen())

    def action_templates(self) -> None:
        from deskterm.screens.templates import TemplatesScreen

        self.push_screen(TemplatesScreen())

    def action_organizations(self) -> None:
        from deskterm.screens.organizations import OrganizationsScreen

        self.push_screen(OrganizationsScreen())

    def action_policies(self, tab: str = "rules") -> None:
        from deskterm.screens.policies import policy_screen

        self.push_screen(policy_screen(tab))

    def action_worker(self) -> None:
        from deskterm.screens.worker_status import WorkerStatusScreen

        self.push_screen(WorkerStatusScreen())

    def unlock_vault(self) -> None:
        self.open_secrets(again=True)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(binding_rows(self.screen)))

    # --- command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Not Textual's defaults (its own Keys panel, Theme, Maximize, Screenshot): the palette
        # says what deskterm does, once, in deskterm's words (issue 14).
        yield SystemCommand("Keys", "Every key that works here", self.action_help)
        yield SystemCommand("Quit", "Leave deskterm (ctrl+q)", self.action_quit)
        yield SystemCommand("Channels", "Add, edit and test channels", self.action_channels)
        yield SystemCommand(
            "Templates", "Canned replies with $variables: add, edit, remove", self.action_templates
        )
        yield SystemCommand(
            "Organizations",
            "Customers by mail domain: their contacts and conversations",
            self.action_organizations,
        )
        yield SystemCommand(
            "Routing rules",
            "Desk policies: what new mail gets before an agent sees it (D)",
            self.action_policies,
        )
        yield SystemCommand(
            "SLA policies",
            "Desk policies: response targets and business hours",
            lambda: self.action_policies("sla"),
        )
        yield SystemCommand(
            "Macros",
            "Desk policies: named sets of actions (x applies one)",
            lambda: self.action_policies("macros"),
        )
        yield SystemCommand(
            "Types and fields",
            "Desk policies: conversation types and their custom fields",
            lambda: self.action_policies("types"),
        )
        yield SystemCommand(
            "Reports", "Volume, response times, backlog, time spent (R)", self.action_reports
        )
        yield SystemCommand(
            "Worker status", "Channel states, recent runs; pause, poll now", self.action_worker
        )
        if self.secrets.locked:
            yield SystemCommand(
                "Unlock the vault", "Give the passphrase skipped at start", self.unlock_vault
            )
        if self.engine is not None:
            yield SystemCommand("Poll now", "Fetch new mail from every channel", self.poll_now)
        if isinstance(screen, DeskScreen):
            yield from screen.palette_commands()


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


def run_app(clock: Callable[[], datetime] | None = None) -> None:
    """Open the desk of DESKTERM_HOME (or DESKTERM_DATABASE_URL) in the terminal."""
    from deskterm.engine.startup import open_desk

    open_desk()
    try:
        DeskApp(clock=clock).run()
    finally:
        connection.close_database()
