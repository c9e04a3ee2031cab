"""One line saying which other agents have this conversation open: "Kim Lee is replying".

The line is this screen's presence on the desk as well as its view of the others': mounted,
it opens a visit in the app's `presence.Tracker` (the thread as "viewing", the composer as
"replying"), beats every `presence.HEARTBEAT` seconds in a thread worker (writing this app's
row, reading the others'), and closes the visit when it goes, however the screen goes. It is
hidden while nobody else is there.

Names are other agents' input: `presence` makes them one short plain line, and they are
shown as `Content`, never parsed as markup.
"""

from __future__ import annotations

import logging

from textual import work
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from deskterm.desk import presence

log = logging.getLogger("deskterm.widgets.presence_line")


class PresenceLine(Static):
    DEFAULT_CSS = """
    PresenceLine { height: 1; padding: 0 1; background: $warning 20%; text-style: bold; }
    PresenceLine.-none { display: none; }
    """

    class Seen(Message, bubble=False):
        def __init__(self, conversation_id: int, people: list[presence.Someone]) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.people = people

    def __init__(
        self,
        tracker: presence.Tracker,
        conversation_id: int,
        activity: str,
        *,
        shows: tuple[str, ...] = presence.ACTIVITIES,
        id: str | None = None,
    ) -> None:
        """`activity`: what this screen is doing; `shows`: the others' activities named."""
        super().__init__(id=id, classes="-none", markup=False)
        self.tracker = tracker
        self.conversation_id = conversation_id
        self.activity = activity
        self.shows = shows
        self.people: list[presence.Someone] = []
        self._visit: presence.Visit | None = None
        self._failing = False

    def on_mount(self) -> None:
        self._visit = self.tracker.open(self.conversation_id, self.activity)
        self.beat()
        self.set_interval(presence.HEARTBEAT, self.beat)

    def on_unmount(self) -> None:
        self._close()

    def follow(self, conversation_id: int) -> None:
        """The screen now shows another conversation (J/K in the thread)."""
        if conversation_id == self.conversation_id:
            return
        self._close()
        self.conversation_id = conversation_id
        self._show([])
        self._visit = self.tracker.open(conversation_id, self.activity)
        self.beat()

    def _close(self) -> None:
        """The visit ends in the app's worker, not this widget's: the widget may be going."""
        visit, self._visit = self._visit, None
        if visit is not None:
            self.app.run_worker(
                lambda: _close_quietly(self.tracker, visit),
                thread=True,
                group="presence-close",
                exit_on_error=False,
                description="leaving the conversation",
            )

    @work(
        thread=True,
        exclusive=True,
        group="presence",
        exit_on_error=False,
        description="seeing who else has the conversation open",
    )
    def beat(self) -> None:
        conversation_id = self.conversation_id
        self.post_message(self.Seen(conversation_id, self.tracker.beat(conversation_id)))

    def on_presence_line_seen(self, message: Seen) -> None:
        if message.conversation_id == self.conversation_id:
            self._failing = False
            self._show(message.people)

    def _show(self, people: list[presence.Someone]) -> None:
        self.people = people
        text = presence.sentence(people, self.shows)
        self.update(Content(text))
        self.set_class(not text, "-none")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failing beat is said once (a database that went away), not every few seconds."""
        error = event.worker.error
        if event.state == WorkerState.ERROR and error is not None and not self._failing:
            self._failing = True
            report = getattr(self.app, "report", None)
            if report is not None:
                report(error, event.worker.description)


def _close_quietly(tracker: presence.Tracker, visit: presence.Visit) -> None:
    """A row that could not be deleted goes stale by itself within `presence.STALE_AFTER`."""
    try:
        tracker.close(visit)
    except Exception:
        log.warning("leaving conversation %s failed", visit.conversation_id, exc_info=True)
