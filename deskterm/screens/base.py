"""What every deskterm screen shares: a typed handle on the app, and worker failures reported.

Textual does not bubble `Worker.StateChanged`, so each screen hears only its own workers;
`OnTheDesk` (the base of every screen and dialog) turns any of their errors into one
notification instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.app import App

    from deskterm.app import DeskApp


class OnTheDesk:
    """For a screen (full or a dialog): the app as the `DeskApp` it is, and its workers'
    failures reported through it."""

    app: App[None]

    @property
    def desk(self) -> DeskApp:
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.desk.report(event.worker.error, event.worker.description)


class DeskScreen(OnTheDesk, Screen[None]):
    DEFAULT_CSS = """
    DeskScreen #title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    """
    _stale = False

    def follow_desk(self) -> None:
        """Reload whenever the desk changes (new mail, a reply's state): at once while this
        screen is shown, else as soon as it is shown again."""
        self.watch(self.app, "desk_version", self._desk_changed, init=False)

    def _desk_changed(self, _version: int) -> None:
        if self.is_current:
            self.reload()
        else:
            self._stale = True

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()

    def reload(self) -> None:
        """Read what the screen shows again (screens that follow the desk define it)."""

    def palette_commands(self) -> Iterable[SystemCommand]:
        """What this screen adds to the command palette (ctrl+p), after the app's own."""
        return ()

    _leave_armed = False  # a form's first Esc with unsaved changes only warned

    def warned_before_leaving(self, dirty: bool) -> bool:
        """For a form's Esc: with unsaved changes the first press warns (True: stay), the
        second leaves; a form sets `_leave_armed` back to False when it changes again."""
        if dirty and not self._leave_armed:
            self._leave_armed = True
            self.notify(
                "There are unsaved changes: press Esc again to leave without them, or ctrl+s "
                "to save.",
                severity="warning",
                markup=False,
            )
            return True
        return False


class ReadingScreen(DeskScreen):
    """A screen that is one scrolling text (a thread, a skipped mail), with a pager's keys."""

    SCROLLER: ClassVar[str] = "VerticalScroll"  # the selector of what the keys scroll
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll('down')", "Scroll down", id="reading.down"),
        Binding("k,up", "scroll('up')", "Scroll up", id="reading.up"),
        Binding("space,pagedown", "scroll('page_down')", "Page down", id="reading.page_down"),
        Binding("pageup", "scroll('page_up')", "Page up", id="reading.page_up"),
        Binding("g,home", "scroll('home')", "Top", id="reading.top"),
        Binding("G,end", "scroll('end')", "Bottom", id="reading.bottom"),
    ]

    def action_scroll(self, where: str) -> None:
        scroller = self.query_one(self.SCROLLER, ScrollableContainer)
        getattr(scroller, f"scroll_{where}")(animate=False)
