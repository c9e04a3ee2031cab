"""What every deskterm screen shares: a typed handle on the app, and worker failures reported.

Textual does not bubble `Worker.StateChanged`, so each screen hears only its own workers; this
base turns any of their errors into one notification instead of a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from deskterm.app import DeskApp


class DeskScreen(Screen[None]):
    @property
    def desk(self) -> DeskApp:
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.desk.report(event.worker.error, event.worker.description)
