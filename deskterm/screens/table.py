"""What the screens built around one table of rows share (outbox, skipped, templates, ...).

Each of them reads its rows in its own thread worker (`_load`, in its own group) and fills the
table itself, as only it knows its columns and which row to keep highlighted. What is the
same everywhere is kept here once: the focused table, `rows` in the table's order, the
highlighted row, the one sentence said when a key needs a row and there is none, what Enter
or a click on a row does, and the cursor keys.

Textual calls every class's `on_mount` along the MRO, the screen's own first: a screen that
follows more than the desk sets that up in its `on_mount`, and this one then loads the rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.widgets import DataTable
from textual.worker import Worker

from deskterm.screens.base import DeskScreen


class TableScreen(DeskScreen):
    # The cursor keys of every such screen (with Textual's own arrows, Home/End, PgUp/PgDn).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor('down')", "Next", id="table.down", show=False),
        Binding("k", "cursor('up')", "Previous", id="table.up", show=False),
        Binding("g", "cursor('top')", "First", id="table.first", show=False),
        Binding("G", "cursor('bottom')", "Last", id="table.last", show=False),
    ]
    TABLE: ClassVar[str] = "DataTable"  # the selector of the table the rows are in
    FOLLOWS_DESK: ClassVar[bool] = False  # reload whenever the desk changes
    EMPTY_HINT: ClassVar[str] = ""  # said when a key needs a row and there is none
    EMPTY_SEVERITY: ClassVar[SeverityLevel] = "information"

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []  # as the table shows them, one a line

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one(self.TABLE, DataTable)

    def on_mount(self) -> None:
        if self.FOLLOWS_DESK:
            self.follow_desk()
        self.table.focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    def _load(self) -> Worker[None]:
        """Read the rows in a thread and post them (each screen's worker, in its own group)."""
        raise NotImplementedError

    def action_reload(self) -> None:
        self.reload()

    @property
    def current(self) -> dict[str, Any] | None:
        """The highlighted row, or None; `rows` may be newer than the table while it refills."""
        table = self.table
        index = table.cursor_row
        if not table.row_count or not 0 <= index < len(self.rows):
            return None
        return self.rows[index]

    def _selected(self) -> dict[str, Any] | None:
        row = self.current
        if row is None:
            self.notify(self.EMPTY_HINT, severity=self.EMPTY_SEVERITY, markup=False)
        return row

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row, or a click on the highlighted one: the table takes Enter before a
        screen's binding does, unless that binding has priority (so it answers on an empty
        table too)."""
        event.stop()
        self.open_row()

    def open_row(self) -> None:
        """What choosing a row does: nothing, unless the screen says."""

    def action_cursor(self, where: str) -> None:
        table = self.table
        if where == "top":
            table.move_cursor(row=0, animate=False)
        elif where == "bottom":
            table.move_cursor(row=max(0, table.row_count - 1), animate=False)
        else:
            getattr(table, f"action_cursor_{where}")()
