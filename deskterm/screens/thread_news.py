"""Mail that arrives while a thread is open (issue 14): added below without moving what the
agent reads, a line above the status bar says so until they scroll to the end, and each new
message is marked "new" until its first line is in view. Part of ThreadScreen (a mixin, as
ThreadNotes is, whose `note_news` words the line for notes), kept apart so the thread stays
about reading and triage.
"""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from deskterm.sanitize import one_line
from deskterm.widgets.message_view import MessageView, sender


class ThreadNews:
    """The thread's news line and "new" marks (mixed into ThreadScreen, which mounts what
    arrived and calls `_announce` with it)."""

    def _announce(self, added: list[dict[str, Any]]) -> None:
        incoming = [m for m in added if m.get("direction") == "in"]
        if incoming:
            count = len(incoming)
            what = "A new message" if count == 1 else f"{count} new messages"
            news = f"{what} from {sender(incoming[-1])} below: press G (End) to see it."
        else:
            news = self.note_news(added)
        if news:
            self._show_news(news)
            self.call_after_refresh(self._check_news)

    def _show_news(self, text: str | None) -> None:
        news = self.query_one("#news", Static)
        news.update(Content(one_line(text or "")))
        news.set_class(text is None, "-none")

    def _moved(self, _value: object = None) -> None:
        """The reader scrolled: the line goes at the end, a "new" mark once its message's
        first line is in view."""
        self._check_news()
        box = self.query_one("#messages", VerticalScroll)
        top = box.scroll_y
        bottom = top + box.scrollable_content_region.height
        for view in box.query(MessageView):
            if view.new and top <= view.virtual_region.y < bottom:
                view.mark_read()

    def _check_news(self, _value: object = None) -> None:
        """The announcement goes once the agent has scrolled to the end (or all fits)."""
        box = self.query_one("#messages", VerticalScroll)
        if box.scroll_y >= box.max_scroll_y:
            self._show_news(None)
