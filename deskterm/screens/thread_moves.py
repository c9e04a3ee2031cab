"""Moving in a thread (issue 14): ]/[ scroll to the next/previous message or note, J/K show
the next/previous conversation of the list the thread was opened from (its order and filter,
as mutt's). Part of ThreadScreen (a mixin, as ThreadNews is), kept apart so the thread stays
about reading what it shows.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from deskterm.widgets.message_view import MessageView
from deskterm.widgets.note_view import NoteView
from deskterm.widgets.presence_line import PresenceLine
from deskterm.widgets.time_clock import TimeClock


class ThreadMoves:
    """The thread's moves (mixed into ThreadScreen, which has `conversation_id`, `neighbour`,
    `reload` and the state `show_conversation` resets)."""

    def action_message(self, step: int) -> None:
        """Scroll to the start of the next (1) or previous (-1) message or note."""
        box = self.query_one("#messages", VerticalScroll)
        tops = [view.virtual_region.y for view in message_views(box)]
        now = round(box.scroll_y)
        if step > 0:
            later = [top for top in tops if top > now]
            if not later or now >= box.max_scroll_y:
                self.notify("This is the last message.", markup=False)
                return
            box.scroll_to(y=later[0], animate=False)
        else:
            earlier = [top for top in tops if top < now]
            if not earlier:
                self.notify("This is the first message.", markup=False)
                return
            box.scroll_to(y=earlier[-1], animate=False)

    def action_neighbour(self, step: int) -> None:
        if self.neighbour is None:
            self.notify("This thread was not opened from the list.", markup=False)
            return
        target = self.neighbour(self.conversation_id, step)
        if target is None:
            end = "last" if step > 0 else "first"
            self.notify(f"This is the {end} conversation of the list.", markup=False)
            return
        self.show_conversation(target)

    def show_conversation(self, conversation_id: int) -> None:
        """Show another conversation in this screen (J/K), marked read as an opened one."""
        self.conversation_id = conversation_id
        self.detail, self.tags, self.files, self.others = None, [], [], []
        self._first_load = True
        self.query_one(PresenceLine).follow(conversation_id)
        self.query_one(TimeClock).follow(conversation_id)
        self.query_one("#title", Static).update(Content(f"#{conversation_id}"))
        self.query_one("#meta", Static).update(Content("loading…"))
        self.reload()


def message_views(box: VerticalScroll) -> list[MessageView | NoteView]:
    """The thread's messages and notes, in the order shown."""
    return [view for view in box.children if isinstance(view, MessageView | NoteView)]
