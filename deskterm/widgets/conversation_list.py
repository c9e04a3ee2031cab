"""The conversation list: a line-drawn view over any number of conversations.

Measured with Textual 8 (see STYLE.md), a widget or DataTable row per conversation costs
seconds at 100,000 rows. This view holds only the matching ids (one integer each, loaded by
the screen in a thread) and draws the visible lines itself (`render_line`), fetching rows by
primary key a page at a time into a small cache. Opening, scrolling and jumping to the end
therefore cost the same at 100 or 100,000 conversations.

Every string from a mail passes `sanitize.one_line` and is drawn as a plain Segment: nothing
here is ever parsed as markup, so a subject like `[@click=app.quit]` is just text.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from deskterm.desk import list_index
from deskterm.desk import status as lifecycle
from deskterm.widgets.list_columns import Extras, cells, columns_for, due, fit

log = logging.getLogger("deskterm.ui")

PAGE = 64  # rows fetched per query: a few screens
PAGES_KEPT = 16  # pages cached (1,024 rows), least recently drawn dropped first


class ConversationList(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows drawn from ids; the cursor is an index into them and follows its conversation."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Next", id="list.down"),
        Binding("k,up", "cursor_up", "Previous", id="list.up"),
        Binding("g,home", "first", "First", id="list.first"),
        Binding("G,end", "last", "Last", id="list.last"),
        Binding("pagedown", "page_down", "Page down", id="list.page_down"),
        Binding("space,t", "toggle_mark", "Mark/unmark (then next)", id="list.mark"),
        Binding("asterisk", "mark_all", "Mark all shown (again: unmark)", id="list.mark_all"),
        Binding("pageup", "page_up", "Page up", id="list.page_up"),
        Binding("enter", "open", "Open", id="list.open"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conversation-list--cursor",
        "conversation-list--unread",
        "conversation-list--muted",
        "conversation-list--high",
        "conversation-list--low",
        "conversation-list--open",
        "conversation-list--pending",
        "conversation-list--resolved",
        "conversation-list--closed",
        "conversation-list--kept",
        "conversation-list--marked",
        "conversation-list--breached",
        "conversation-list--due-soon",
    }
    DEFAULT_CSS = """
    ConversationList {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;  /* the same columns as ColumnHeader, scrollbar or not */
    }
    ConversationList > .conversation-list--cursor { background: $block-cursor-blurred-background; }
    ConversationList:focus > .conversation-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    ConversationList > .conversation-list--unread { text-style: bold; }
    ConversationList > .conversation-list--muted { color: $text-muted; }
    ConversationList > .conversation-list--high { color: $text-error; }
    ConversationList > .conversation-list--low { color: $text-muted; }
    ConversationList > .conversation-list--open { color: $text-success; }
    ConversationList > .conversation-list--pending { color: $text-warning; }
    ConversationList > .conversation-list--resolved { color: $text-muted; }
    ConversationList > .conversation-list--closed { color: $text-muted; }
    /* Triaged out of the filter, kept under the cursor until the agent moves (see `pin`). */
    ConversationList > .conversation-list--kept { color: $text-muted; text-style: italic; }
    /* Marked for a bulk change (space, t, *): the id column reads *123. */
    ConversationList > .conversation-list--marked { color: $text-accent; text-style: bold; }
    /* The SLA's due column: past due, and inside the warning time ("!" and "~" say the same). */
    ConversationList > .conversation-list--breached { color: $text-error; text-style: bold; }
    ConversationList > .conversation-list--due-soon { color: $text-warning; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        """The agent asked to open a conversation (Enter or double click)."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class MarksChanged(Message):
        """The set of marked conversations changed (the header says how many)."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        self.ids: list[int] = []
        self._pages: OrderedDict[int, dict[int, dict[str, Any]]] = OrderedDict()
        self._failed = False
        # Where the cursor was before a list shown only in part (see `show`).
        self._before: tuple[int | None, int] | None = None
        # The conversation just triaged, held under the cursor until the agent moves (`pin`),
        # and `kept`: that one when it no longer matches the list (shown marked).
        self._pinned: int | None = None
        self.kept: int | None = None
        # Marked for a bulk change; kept across filters and searches until unmarked.
        self.marked: set[int] = set()
        # The columns the desk needs beyond the fixed ones (due times, channels).
        self.extras = Extras()

    # --- data --------------------------------------------------------------------------

    def show(self, ids: list[int], *, whole: bool = True) -> None:
        """Show a new list of ids (a filter or a refresh), keeping the cursor's conversation.

        With `whole` False the ids are only the start of the list, the rest following with
        the next `show`: where the cursor was before this one is kept until then, so that it
        lands as if the whole list had come at once (unless the agent moves it meanwhile)."""
        current, index = self._before or (self.current_id, self.cursor)
        self.kept = None
        if self._pinned is not None and self._pinned not in ids:
            ids = [*ids]
            ids.insert(min(index, len(ids)), self._pinned)
            self.kept = self._pinned
        self.ids = ids
        self._pages.clear()
        self._failed = False
        self.virtual_size = Size(0, len(ids))
        wanted = index
        if current is not None:
            # When it left this filter, the cursor stays at the same place in the list.
            with contextlib.suppress(ValueError):
                wanted = ids.index(current)
        self.cursor = self._clamp(wanted)
        self._before = None if whole else (current, index)
        self.refresh()

    def pin(self, conversation_id: int) -> None:
        """Keep this conversation (the one just triaged) under the cursor through the next
        loads until the agent moves, even once it no longer matches: the next key then acts
        on it again, not on the conversation that would have slid into its place."""
        self._pinned = conversation_id

    def unpin(self) -> None:
        """The list changes under the agent's hand (another filter, a search): hold nothing."""
        self._pinned = None

    def reload_rows(self) -> None:
        """Draw rows afresh from the database (their content changed, not their order)."""
        self._pages.clear()
        self.refresh()

    @property
    def current_id(self) -> int | None:
        return self.ids[self.cursor] if 0 <= self.cursor < len(self.ids) else None

    def row(self, index: int) -> dict[str, Any] | None:
        """One row's data, fetched with its page on first use."""
        if not 0 <= index < len(self.ids):
            return None
        number = index // PAGE
        page = self._pages.get(number)
        if page is None:
            page = self._fetch(number)
            self._pages[number] = page
            while len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page.get(self.ids[index])

    def _fetch(self, number: int) -> dict[int, dict[str, Any]]:
        wanted = self.ids[number * PAGE : (number + 1) * PAGE]
        try:
            return {row["id"]: row for row in list_index.conversation_rows(wanted)}
        except Exception as exc:  # a locked or vanished database must not kill the app
            log.exception("reading conversations failed")
            if not self._failed:
                self._failed = True
                self.notify(
                    f"The conversations could not be read ({type(exc).__name__}); "
                    "press ctrl+r to try again.",
                    severity="error",
                    markup=False,
                )
            return {}

    # --- drawing -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        row = self.row(index)
        if row is None:
            return Strip.blank(width, base)
        line_style = base + self._style("unread") if row["unread"] else base
        if row["id"] == self.kept:
            line_style += self._style("kept")
        marked = row["id"] in self.marked
        # The cursor goes on top of every column's colour, as a selection does.
        cursor = self._style("cursor") if index == self.cursor else Style()
        segments = []
        values = cells(row, self.clock())
        if marked:
            values["id"] = f"*{values['id']}"
        for column in columns_for(width, self.extras):
            text = fit(values[column.key], column.width, column.right)
            column_style = line_style + self._column_style(column.key, row) + cursor
            if marked and column.key == "id":
                column_style = line_style + self._style("marked") + cursor
            segments.append(Segment(text, column_style))
            segments.append(Segment(" ", line_style + cursor))
        return Strip(segments).crop_extend(0, width, line_style + cursor)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"conversation-list--{name}", partial=True)

    def _column_style(self, key: str, row: dict[str, Any]) -> Style:
        if key == "status" and row["status"] in lifecycle.STATUSES:
            return self._style(row["status"])
        if key == "priority" and row["priority"] in ("high", "low"):
            return self._style(row["priority"])
        if key in ("id", "age", "messages", "channel"):
            return self._style("muted")
        if key == "due" and row.get("due_at") is not None:
            text = due(row, self.clock())
            if text.startswith("!"):
                return self._style("breached")
            if text.startswith("~"):
                return self._style("due-soon")
        return Style()

    # --- the cursor --------------------------------------------------------------------

    def _clamp(self, index: int) -> int:
        return max(0, min(index, len(self.ids) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self._keep_visible()
        self.refresh()

    def _keep_visible(self) -> None:
        height = self.scrollable_content_region.height
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def on_resize(self, event: events.Resize) -> None:
        self._keep_visible()

    def _move(self, index: int) -> None:
        """The agent moves the cursor: it stays where they put it, and a conversation held
        after triage (`pin`) is let go, leaving the list if it no longer matches."""
        self._before = None
        target = self._clamp(index)
        if self._pinned is not None and target != self.cursor:
            self._pinned = None
            if self.kept is not None and self.kept in self.ids:
                wanted = self.ids[target]
                self.ids.remove(self.kept)
                self.kept = None
                self._pages.clear()
                self.virtual_size = Size(0, len(self.ids))
                target = self.ids.index(wanted) if wanted in self.ids else self._clamp(target)
        self.cursor = target

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self.ids) - 1)

    def action_page_down(self) -> None:
        self._move(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_page_up(self) -> None:
        self._move(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_toggle_mark(self) -> None:
        """Mark the cursor's conversation (or unmark it), then go to the next one, so a run of
        presses marks a run of rows."""
        current = self.current_id
        if current is None:
            return
        self.marked.symmetric_difference_update({current})
        self.post_message(self.MarksChanged())
        self.refresh()
        self._move(self.cursor + 1)

    def action_mark_all(self) -> None:
        """Mark every conversation the list shows (its search and filters); when all are
        marked already, unmark them."""
        shown = set(self.ids)
        if shown and shown <= self.marked:
            self.marked -= shown
        else:
            self.marked |= shown
        self.post_message(self.MarksChanged())
        self.refresh()

    def unmark_all(self) -> None:
        self.marked.clear()
        self.post_message(self.MarksChanged())
        self.refresh()

    def action_open(self) -> None:
        if self.current_id is not None:
            self.post_message(self.Selected(self.current_id))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < len(self.ids):
            self._move(index)
            if event.chain >= 2:
                self.action_open()
