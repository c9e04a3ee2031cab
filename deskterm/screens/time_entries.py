"""A conversation's time entries (`E` in the thread; `deskterm time list ID` in the UI): who
spent how long, when, on what, measured by the clock or logged by hand.

`e` (or Enter) corrects the highlighted entry in a small form filled with its length and note,
`d` removes it after `ConfirmRemove`'s question, Esc goes back to the thread, whose header
then shows the new total (the change is a commit the desk hears, as any other). The engine
decides who may change an entry (`time_spent.edit`: its agent or an admin) and says why not
in one sentence, shown through `tui_sentence`.

Notes are an agent's text: drawn through `cell` and `Content`, never as markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static

from deskterm.desk import time_spent
from deskterm.errors import DeskError
from deskterm.sanitize import one_line
from deskterm.screens.dialog import ConfirmRemove, Dialog
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.screens.words import tui_sentence
from deskterm.widgets.status_bar import StatusBar

KINDS = {"clock": "measured", "manual": "logged"}


def when(at: object) -> str:
    """`2024-03-11T10:20:00+00:00` -> `2024-03-11 10:20` (UTC, as stored)."""
    return str(at or "")[:16].replace("T", " ")


class TimeEntryForm(Dialog[None]):
    """An entry's length and note, filled with what it has; Enter saves through
    `time_spent.edit` (`saved`: the entry's id once saved), Esc leaves it as it was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="time_entry.cancel"),
    ]
    DEFAULT_CSS = """
    TimeEntryForm > .box { width: 64; }
    TimeEntryForm .row { height: 1; }
    TimeEntryForm .row > Label { width: 8; color: $text-muted; }
    TimeEntryForm .row > Input { width: 1fr; }
    TimeEntryForm #problem { color: $error; height: auto; }
    """

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__()
        self.entry_id = int(entry["id"])
        self.initial = (str(entry["spent"]), one_line(str(entry["note"] or "")))
        self.saved: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(Content(f"Time entry {self.entry_id}"))
            yield Horizontal(
                Label(Content("length")),
                Input(value=self.initial[0], compact=True, id="length"),
                classes="row",
            )
            yield Horizontal(
                Label(Content("note")),
                Input(value=self.initial[1], compact=True, id="note"),
                classes="row",
            )
            yield Static(Content(""), id="problem")
            yield Static(
                Content("15m, 1h30m, 1.5h or 1:30. Enter saves, Esc cancels."), classes="hint"
            )

    @on(Input.Submitted)
    def _save(self) -> None:
        """Send only what the agent changed: the prefilled length is `format_duration`'s
        rounded text (5445 s shows as 1h30m), so sending it back unchanged would cut the
        seconds off an entry whose note alone was corrected; the note is prefilled on one
        line, so an untouched note keeps its own lines."""
        length = self.query_one("#length", Input).value
        note = self.query_one("#note", Input).value
        try:
            time_spent.edit(
                self.entry_id,
                seconds=(time_spent.parse_duration(length) if length != self.initial[0] else None),
                note=note if note != self.initial[1] else None,
            )
        except DeskError as exc:
            self.query_one("#problem", Static).update(Content(tui_sentence(exc)))
            return
        self.saved = str(self.entry_id)
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TimeEntriesScreen(TableScreen):
    """One conversation's time entries, oldest first, with their total."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e,enter", "edit", "Correct the entry", id="time_entries.edit", priority=True),
        Binding("d,delete", "remove", "Remove the entry", id="time_entries.remove"),
        Binding("ctrl+r", "reload", "Reload", id="time_entries.reload"),
        Binding("escape,q", "back", "Back", id="time_entries.back"),
    ]
    FOLLOWS_DESK = True  # the thread's clock and other agents add to it while it is open
    EMPTY_HINT = "No time is logged here; press Esc, then L in the thread to log some."

    class Removed(Message):
        def __init__(self, entry_id: int) -> None:
            super().__init__()
            self.entry_id = entry_id

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id

    def compose(self) -> ComposeResult:
        yield Static(Content(f"Time spent on #{self.conversation_id}"), id="title")
        columns = (("who", 10), ("when (UTC)", 16), ("spent", 7), ("how", 8), ("note", None))
        yield row_table(columns, line=self.app.size.width)
        yield Static(Content("loading…"), id="empty")
        yield Static(Content(""), id="total", classes="detail")
        yield StatusBar("e correct  d remove  esc back  ? help")

    @work(
        thread=True,
        exclusive=True,
        group="time-entries",
        exit_on_error=False,
        description="reading the time spent",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(time_spent.entries(self.conversation_id)))

    def on_table_screen_loaded(self, message: TableScreen.Loaded) -> None:
        self.fill(message.rows, self._cells, "id")
        empty = self.query_one("#empty", Static)
        empty.update(Content("No time spent on it yet: press Esc, then L to log some."))
        empty.set_class(bool(message.rows), "-hidden")

    def show_current(self) -> None:
        """The total, and the highlighted entry's note in full (the table cuts it short)."""
        if not self.rows:
            self.query_one("#total", Static).update(Content(""))
            return
        spent = time_spent.format_duration(sum(int(row["seconds"]) for row in self.rows))
        row = self.current
        note = one_line(str(row["note"] or "")) if row is not None else ""
        self.query_one("#total", Static).update(
            Content(f"{spent} in all" + (f"\n{note}" if note else ""))
        )

    @staticmethod
    def _cells(row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            cell(row["agent"] or "-"),
            cell(when(row["started_at"])),
            cell(row["spent"]),
            cell(KINDS.get(str(row["source"]), row["source"])),
            cell(row["note"] or ""),
        )

    def action_back(self) -> None:
        """Back to the thread, which reads its total again (`ThreadTime.action_time_entries`)."""
        self.dismiss(None)

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self.edit(TimeEntryForm(row))

    open_row = action_edit

    def action_remove(self) -> None:
        row = self._selected()
        if row is None:
            return
        entry_id = int(row["id"])

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(entry_id)

        name = f"{row['spent']} by {row['agent'] or 'nobody'}"
        self.app.push_screen(ConfirmRemove("time entry", name), answered)

    @work(thread=True, group="remove", exit_on_error=False, description="removing the time")
    def _remove(self, entry_id: int) -> None:
        time_spent.remove(entry_id)
        self.post_message(self.Removed(entry_id))

    def on_time_entries_screen_removed(self, message: Removed) -> None:
        self.notify(f"Time entry {message.entry_id} removed.", markup=False)
        self.reload()
