"""Templates: the list (`deskterm template` in the UI); the editor is screens/template_form.

The list is read by a thread worker from `templates.all_templates()`; each row is a name and
the first line of its body, and the highlighted template is shown in full below the table.
`a` adds, Enter or `e` edits (with its kind and HTML part), `d` removes after a yes/no
question.

Names and bodies may have been written by anyone with the CLI: they are shown as `Content`
or `rich.text.Text` (names through `one_line`, bodies through `clean`), never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.desk import templates
from deskterm.desk.template_kinds import REPLY
from deskterm.sanitize import clean, one_line
from deskterm.screens.dialog import ConfirmRemove
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.screens.template_form import TemplateFormScreen
from deskterm.widgets.status_bar import StatusBar


def first_line(body: str) -> str:
    """What the list shows of a body: its first line with text in it."""
    for line in clean(body).splitlines():
        if line.strip():
            return one_line(line)
    return ""


class TemplatesScreen(TableScreen):
    """Every template by name; add, edit and remove them from here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add a template", id="templates.add"),
        Binding("e,enter", "edit", "Edit", id="templates.edit", priority=True),
        Binding("d,delete", "remove", "Remove", id="templates.remove"),
        Binding("ctrl+r", "reload", "Reload", id="templates.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="templates.back"),
    ]
    EMPTY_HINT = "There is no template here; press a to add one."
    DEFAULT_CSS = """
    TemplatesScreen #preview { max-height: 8; }
    """

    class Removed(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self) -> None:
        super().__init__()

    def compose(self) -> ComposeResult:
        yield Static(Content("Templates"), id="title")
        yield row_table((("name", 20), ("first line", None)), line=self.app.size.width)
        yield Static(Content("loading…"), id="empty")
        yield Static(Content(""), id="preview", classes="detail")
        yield StatusBar("a add  enter edit  d remove  esc back  ? help")

    @work(
        thread=True,
        exclusive=True,
        group="templates",
        exit_on_error=False,
        description="reading the templates",
    )
    def _load(self) -> None:
        rows = [
            {"name": t.name, "body": t.body, "kind": t.kind, "html": t.html or ""}
            for t in templates.all_templates()
        ]
        self.post_message(self.Loaded(rows))

    def on_table_screen_loaded(self, message: TableScreen.Loaded) -> None:
        self.fill(
            message.rows, lambda row: (cell(row["name"]), cell(first_line(row["body"]))), "name"
        )
        empty = self.query_one("#empty", Static)
        empty.update(
            Content("No templates yet: press a to add one (or use `deskterm template add`).")
        )
        empty.set_class(bool(message.rows), "-hidden")

    def show_current(self) -> None:
        """The highlighted template in full: the table shows only its first line."""
        row = self.current
        text = Content("")
        if row is not None:
            text = Content.assemble((one_line(row["name"]), "bold"), "\n", clean(row["body"]))
        self.query_one("#preview", Static).update(text)

    # --- keys --------------------------------------------------------------------------------

    def action_add(self) -> None:
        self._open(None, "")

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._open(row["name"], row["body"], row["kind"], row["html"])

    open_row = action_edit

    def _open(self, name: str | None, body: str, kind: str = REPLY, html: str = "") -> None:
        taken = {row["name"] for row in self.rows}
        self.edit(TemplateFormScreen(name, body, taken, kind, html))

    def action_remove(self) -> None:
        row = self._selected()
        if row is None:
            return
        name = row["name"]

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(name)

        self.app.push_screen(ConfirmRemove("template", name), answered)

    @work(thread=True, group="remove", exit_on_error=False, description="removing the template")
    def _remove(self, name: str) -> None:
        templates.remove(name)
        self.post_message(self.Removed(name))

    def on_templates_screen_removed(self, message: Removed) -> None:
        self.notify(f"Template {one_line(message.name)!r} removed.", markup=False)
        self.reload()
