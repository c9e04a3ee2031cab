"""What the screens built around one table of rows share (outbox, skipped, templates, ...).

Each of them reads its rows in its own thread worker (`_load`, in its own group) and says how
a row is drawn, as only it knows its columns. What is the same everywhere is kept here once:
building the table (`row_table`), filling it with the highlighted row kept highlighted
(`fill`), the focused table, `rows` in the table's order, the highlighted row and the line
that shows it in full (`show_current`), the one sentence said when a key needs a row and there
is none, what Enter or a click on a row does, and the cursor keys; the look of the table, of
the `#empty` line said in its place and of the `.detail` line under it (`DEFAULT_CSS`), and
`Loaded`, the rows a screen's worker read, for the screens that read nothing more.

Textual calls every class's `on_mount` along the MRO, the screen's own first: a screen that
follows more than the desk sets that up in its `on_mount`, and this one then loads the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import DataTable
from textual.widgets.data_table import CursorType
from textual.worker import Worker

from deskterm.sanitize import one_line
from deskterm.screens.base import DeskScreen

MIN_REST = 16  # the narrowest "rest of the line" column


def cell(value: Any, style: str = "") -> Text:
    """A table cell: names, states and server errors are shown as text, never as markup.

    A value longer than its column ends in an ellipsis where the column cuts it, so that a
    cut value never reads as another one (`127.0.0.1:1399` for port 13993).
    """
    return Text(one_line(str(value)), style=style, no_wrap=True, overflow="ellipsis", end="")


def endpoint_cell(prefix: str, host: str, port: object, width: int) -> Text:
    """`prefix host:port` in `width` cells: a long host is cut (with an ellipsis), the port
    never is, as a port cut short is another port."""
    tail = f":{port}"
    room = width - cell_len(prefix) - cell_len(tail)
    host = one_line(host)
    if cell_len(host) > room:
        host = set_cell_size(host, max(room - 1, 0)) + "…"
    return cell(f"{prefix}{host}{tail}")


def row_table(
    columns: Iterable[tuple[str, int | None]],
    *,
    id: str | None = None,
    cursor_type: CursorType = "row",
    zebra_stripes: bool = False,
    line: int | None = None,
) -> DataTable[Text]:
    """A table with these (label, width) columns; a width of None takes the rest of the line.

    Given the `line`'s width (the app's), that rest is a width of its own, so a value longer
    than it ends in an ellipsis (`cell`) rather than at the screen's edge, cut mid-word.
    """
    columns = list(columns)
    fixed = sum(width for _label, width in columns if width is not None)
    # Each column has a cell of padding either side; 2 more for the vertical scrollbar.
    rest = None if line is None else max(MIN_REST, line - fixed - 2 * len(columns) - 2)
    table: DataTable[Text] = DataTable(cursor_type=cursor_type, zebra_stripes=zebra_stripes, id=id)
    for label, width in columns:
        table.add_column(label, width=rest if width is None else width)
    return table


class TableScreen(DeskScreen):
    # Textual scopes a class's DEFAULT_CSS to its own name, which each subclass answers to as
    # well: these rules hold on every table screen. A screen's own rules win where they set the
    # same thing (a subclass's CSS is read after its base's, and an #id outweighs a type or a
    # class), so a screen sets only what differs, as a taller `.detail` line.
    DEFAULT_CSS = """
    TableScreen DataTable { height: 1fr; overflow-x: hidden; }
    TableScreen #empty { padding: 1 1; color: $text-muted; }
    TableScreen #empty.-hidden { display: none; }
    TableScreen .detail {
        height: auto; max-height: 4; padding: 0 1; border-top: hkey $primary 30%;
    }
    """
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

    class Loaded(Message):
        """The rows `_load` read, posted from its thread (a screen that reads more than its
        rows, as the outbox its channels' waits, has a `Loaded` of its own)."""

        def __init__(self, rows: list[dict[str, Any]]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []  # as the table shows them, one a line
        self._select: str | None = None  # the key to highlight once read again (a saved one)

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

    def fill(
        self,
        rows: list[dict[str, Any]],
        cells: Callable[[dict[str, Any]], Iterable[Text]],
        key: str,
        select: str | None = None,
    ) -> None:
        """Show `rows`, one a line drawn by `cells`, each known by its `key` column.

        The row that was highlighted stays highlighted wherever it moved (the rows are read
        again while the agent looks at them), unless `select` (or what `edit` saved) names
        the key to highlight.
        """
        if select is None:
            select, self._select = self._select, None
        current = self.current  # before the new rows arrive
        wanted = select if select is not None or current is None else str(current[key])
        self.rows = rows
        table = self.table
        table.clear()
        for row in rows:
            table.add_row(*cells(row), key=str(row[key]))
        if wanted is not None and wanted in table.rows:
            table.move_cursor(row=table.get_row_index(wanted), animate=False)
        self.show_current()

    def edit(self, form: Any) -> None:
        """Open an editing form; once it closes having saved (its `saved` names the row's key),
        read the rows again with that row highlighted."""

        def back(_result: object) -> None:
            if form.saved is not None:
                self._select = form.saved
                self.reload()

        self.app.push_screen(form, back)

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

    def show_current(self) -> None:
        """Show the highlighted row in full, where the screen has a line for it (the table
        cuts subjects and server answers short)."""

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table:
            self.show_current()

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
