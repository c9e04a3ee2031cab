"""What the Policies screens' lists share (`D` in the list; screens/policies.py has the
lists): the tabs line and its keys 1-4, reading rows in a thread, add, edit and remove with
a confirmation, and following the desk (PostgreSQL announces the policy tables,
store/live_triggers.py `POLICY_TABLES`, so an admin's change elsewhere reaches an open list).

Names and values were written by anyone with the CLI: shown as `Content` or
`rich.text.Text` through `one_line`, never as markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.sanitize import one_line
from deskterm.screens.dialog import ConfirmRemove
from deskterm.screens.table import TableScreen, row_table
from deskterm.widgets.status_bar import StatusBar

TABS = ("rules", "sla", "macros", "types")  # in the order of their keys, 1 2 3 4
TAB_TITLES = {
    "rules": "Routing rules",
    "sla": "SLA policies",
    "macros": "Macros",
    "types": "Types",
}
LISTS: dict[str, type[PolicyListScreen]] = {}  # each tab's screen, as its class registers


class PolicyListScreen(TableScreen):
    """What the lists share: the tabs line, the keys, loading, removing. Each subclass
    registers itself under its TAB (screens/policies.py imports them all)."""

    TAB: ClassVar[str] = ""
    NOUN: ClassVar[str] = "rule"  # "Rule 'x' removed."
    KEY: ClassVar[str] = "name"  # the column that tells the rows apart
    HINTS: ClassVar[str] = "a add  e edit  d remove  1-4 lists  ? help"
    FOLLOWS_DESK = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="policies.add"),
        Binding("e,enter", "edit", "Edit", id="policies.edit", priority=True),
        Binding("d,delete", "remove", "Remove", id="policies.remove"),
        Binding("1", "tab('rules')", "Routing rules", id="policies.rules"),
        Binding("2", "tab('sla')", "SLA policies", id="policies.sla"),
        Binding("3", "tab('macros')", "Macros", id="policies.macros"),
        Binding("4", "tab('types')", "Types and fields", id="policies.types"),
        Binding("tab", "next_tab", "Next list", id="policies.next"),
        Binding("ctrl+r", "reload", "Reload", id="policies.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="policies.back"),
    ]
    DEFAULT_CSS = """
    PolicyListScreen #preview { max-height: 7; }
    """

    class Done(Message):
        """A remove or a move went well: say so, and read the list again."""

        def __init__(self, said: str, select: str | None = None) -> None:
            super().__init__()
            self.said = said
            self.select = select

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TAB:
            LISTS[cls.TAB] = cls

    def __init__(self) -> None:
        super().__init__()

    # --- what each list says ---------------------------------------------------------------

    def columns(self) -> tuple[tuple[str, int | None], ...]:
        raise NotImplementedError

    def read(self) -> list[dict[str, Any]]:
        """The rows, in a thread (each with its `name`)."""
        raise NotImplementedError

    def cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        raise NotImplementedError

    def details(self, row: dict[str, Any]) -> str:
        """The highlighted row in full, under the table."""
        raise NotImplementedError

    def form(self, row: dict[str, Any] | None) -> Any:
        """The form that adds (`row` None) or edits a row; its `saved` is the key saved."""
        raise NotImplementedError

    def delete(self, row: dict[str, Any]) -> None:
        """Remove a row, in a thread."""
        raise NotImplementedError

    def noun(self, row: dict[str, Any]) -> str:
        """What the row is, to ask and say its removal ("rule")."""
        return self.NOUN

    # --- shared ----------------------------------------------------------------------------

    @property
    def EMPTY_HINT(self) -> str:  # type: ignore[override]
        return f"There is no {self.NOUN} here; press a to add one."

    def compose(self) -> ComposeResult:
        yield Static(self._tabs(), id="title")
        yield row_table(self.columns(), line=self.app.size.width)
        yield Static(Content("loading…"), id="empty")
        yield Static(Content(""), id="preview", classes="detail")
        yield StatusBar(self.HINTS)

    def _tabs(self) -> Content:
        parts: list[str | tuple[str, str]] = ["Policies  "]
        for number, tab in enumerate(TABS, 1):
            label = f" {number} {TAB_TITLES[tab]} "
            parts.append((label, "reverse") if tab == self.TAB else label)
        return Content.assemble(*parts)

    @work(
        thread=True,
        exclusive=True,
        group="policies",
        exit_on_error=False,
        description="reading the policies",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(self.read()))

    def on_table_screen_loaded(self, message: TableScreen.Loaded) -> None:
        self.fill(message.rows, self.cells, self.KEY)
        empty = self.query_one("#empty", Static)
        empty.update(Content(f"No {TAB_TITLES[self.TAB].lower()} yet: press a to add one."))
        empty.set_class(bool(message.rows), "-hidden")

    def show_current(self) -> None:
        row = self.current
        text = Content("") if row is None else Content(self.details(row))
        self.query_one("#preview", Static).update(text)

    def action_tab(self, tab: str) -> None:
        if tab != self.TAB:
            self.app.switch_screen(LISTS[tab]())

    def action_next_tab(self) -> None:
        self.action_tab(TABS[(TABS.index(self.TAB) + 1) % len(TABS)])

    def action_add(self) -> None:
        self._open(None)

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._open(row)

    open_row = action_edit

    def _open(self, row: dict[str, Any] | None) -> None:
        self.edit(self.form(row))

    def action_remove(self) -> None:
        row = self._selected()
        if row is None:
            return
        noun, name = self.noun(row), str(row["name"])

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(row, noun)

        self.app.push_screen(ConfirmRemove(noun, name), answered)

    @work(thread=True, group="remove", exit_on_error=False, description="removing it")
    def _remove(self, row: dict[str, Any], noun: str) -> None:
        self.delete(row)
        said = f"{noun.capitalize()} {one_line(str(row['name']))!r} removed."
        self.post_message(self.Done(said))

    def on_policy_list_screen_done(self, message: Done) -> None:
        self.notify(message.said, markup=False)
        self._select = message.select
        self.reload()
