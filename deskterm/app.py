"""The terminal desk: `deskterm` (and `deskterm demo`) open this Textual app.

The app is a thin shell over the engine. Its session with the desk (the engine worker, the
secret store, hearing what others change, coalesced list refreshes) is `app_session`; the
desk-wide commands (the screens any screen reaches, the command palette) are `app_commands`.
Screens (under `screens/`) read through `deskterm.desk.queries` and change state through
`deskterm.desk.triage`.

Errors a person can act on (`DeskError`) become one-sentence notifications; anything else is
logged and reported as a bug in one sentence too. Nothing from a mail or a server is ever
given to Textual as markup (`markup=False`, `Content`, or segments built by hand).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker as TextualWorker
from textual.worker import WorkerState

from deskterm import settings
from deskterm.app_commands import DeskCommands
from deskterm.app_session import DeskSession
from deskterm.desk import attachments, presence
from deskterm.engine.lock import worker_running
from deskterm.engine.worker import Worker
from deskterm.errors import DeskError
from deskterm.sanitize import clean, one_line
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.identity import ask_who_if_unknown
from deskterm.screens.unlock import TuiSecrets
from deskterm.screens.words import tui_sentence
from deskterm.store import connection, db, live
from deskterm.widgets.key_order import KeyOrderApp
from deskterm.widgets.new_mail_bell import NewMailBell

log = logging.getLogger("deskterm.ui")

# What counts as the agent at work for the clock of time spent (widgets/time_clock.py).
INPUT_EVENTS = (
    events.Key,
    events.Paste,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
)


class DeskApp(DeskSession, DeskCommands, KeyOrderApp[None]):  # key order: widgets/key_order.py
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


def run_app(clock: Callable[[], datetime] | None = None) -> None:
    """Open the desk of DESKTERM_HOME (or DESKTERM_DATABASE_URL) in the terminal."""
    from deskterm.engine.startup import open_desk

    open_desk()
    try:
        DeskApp(clock=clock).run()
    finally:
        connection.close_database()
