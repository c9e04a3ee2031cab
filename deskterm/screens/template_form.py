"""The template editor: name, kind and text, checked as you type (`deskterm template add`
in the UI), and F2's preview, filled for a conversation number or with sample values.

The editor runs the engine's own `templates.check` on every keystroke, so the sentence under
the body is exactly the one `deskterm template add` would print, and Ctrl+S saves through
`templates.save` in a thread. A rename saves the new name and removes the old one in one
transaction, so a template is never left behind under its old name, nor lost. The HTML part
is kept as it is (it is edited with `template add --html`).

Names and bodies may have been written by anyone with the CLI: shown as `Content`, never as
markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, TextArea

from deskterm.desk import queries, templates
from deskterm.desk.template_kinds import REPLY, REPLY_NOTIFICATION, RESOLVED
from deskterm.errors import ConfigError, DeskError
from deskterm.sanitize import clean, one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.words import tui_sentence
from deskterm.widgets.status_bar import StatusBar

# The kinds chosen here; `invitation` and `sla_warning` are the kinds of those names.
CHOSEN_KINDS = (REPLY, REPLY_NOTIFICATION, RESOLVED)


def name_problem(name: str, original: str | None, taken: set[str]) -> str:
    """Why `name` cannot be saved (one sentence), or "" when it can."""
    try:
        templates.check_name(name)
    except ConfigError as exc:
        return tui_sentence(exc)
    if name != original and name in taken:
        return f"There is already a template named {name!r}; edit that one or pick another name."
    return ""


def body_problem(body: str, name: str | None = None, kind: str | None = None) -> str:
    """`templates.check`'s sentence (what `deskterm template add` says), or ""."""
    try:
        templates.check(body, name, kind)
    except ConfigError as exc:
        return tui_sentence(exc)
    return ""


class TemplateFormScreen(DeskScreen):
    """Add a template (`original` None) or edit one; `saved` is its name once saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="template.save"),
        Binding(
            "f2",
            "preview",
            "Preview for the conversation # given, else sample values (again: variables)",
            id="template.preview",
        ),
        Binding("escape", "back", "Back (twice to drop changes)", id="template.back"),
        Binding("f1", "app.help", "Keys (help)", id="template.help"),
    ]
    DEFAULT_CSS = """
    TemplateFormScreen #form { height: 1fr; padding: 0 1; }
    TemplateFormScreen .row { height: 1; }
    TemplateFormScreen .row > Label { width: 6; color: $text-muted; }
    TemplateFormScreen .row > Input { width: 1fr; }
    TemplateFormScreen .row > #kind { width: 24; }
    TemplateFormScreen .row > #preview-label { width: 12; padding-left: 2; }
    TemplateFormScreen .problem { height: auto; color: $error; }
    TemplateFormScreen .problem.-ok { color: $success; }
    TemplateFormScreen #body { height: 1fr; min-height: 4; }
    TemplateFormScreen #variables { height: auto; color: $text-muted; }
    """

    class Saved(Message):
        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name  # None: the save failed (the worker's handler reports why)

    def __init__(
        self,
        original: str | None,
        body: str,
        taken: set[str],
        kind: str = REPLY,
        html: str = "",
    ) -> None:
        super().__init__()
        self.original = original
        self.kind = kind
        self.html = html  # kept as it is: the HTML part is edited with `template add --html`
        # What the widgets start with: cleaned, as nothing raw from the desk is shown.
        self.initial = (one_line(original or ""), clean(body))
        self.taken = taken
        self.problem = ""
        self.saving = False
        self.saved: str | None = None
        self.previewing = False

    def compose(self) -> ComposeResult:
        title = "New template" if self.original is None else f"Template {self.initial[0]}"
        yield Static(Content(title), id="title")
        with Vertical(id="form"):
            yield Horizontal(
                Label(Content("name")),
                Input(value=self.initial[0], compact=True, id="name"),
                classes="row",
            )
            yield Static(Content(""), id="name-problem", classes="problem")
            yield TextArea(self.initial[1], id="body", placeholder="The reply's text.")
            yield Static(Content(""), id="body-problem", classes="problem")
            yield Horizontal(
                Label(Content("kind")),
                Select(
                    [(Content(k), k) for k in CHOSEN_KINDS],
                    value=self.kind if self.kind in CHOSEN_KINDS else REPLY,
                    allow_blank=False,
                    compact=True,
                    id="kind",
                ),
                Label(Content("preview #"), id="preview-label"),
                Input(
                    placeholder="a number; empty: sample values",
                    compact=True,
                    restrict=r"[0-9]*",
                    id="conversation",
                ),
                classes="row",
            )
            yield Static(self._variables(self.initial[0], self.kind), id="variables")
        yield StatusBar("ctrl+s save  f2 preview  esc back  f1 keys")

    @staticmethod
    def _variables(name: str | None, kind: str | None = None) -> Content:
        known = templates.variables_for(name, kind)
        lines = [Content("Variables ($$ writes a dollar sign; $field_<name> a custom field):")]
        width = max(len(variable) for variable in known) + 1
        for variable, what in known.items():
            lines.append(Content.assemble(("  $" + variable.ljust(width), "bold"), what))
        return Content("\n").join(lines)

    def action_preview(self) -> None:
        """F2: the text as it would be sent, its variables filled for the conversation whose
        number is given, else with sample values (the invitation's for `invitation`); F2
        again shows the variables."""
        self.previewing = not self.previewing
        self._show_below()

    def _show_below(self) -> None:
        name, body = self.values()
        kind = self.chosen_kind()
        below = self._variables(name, kind)
        if self.previewing:
            number = self.query_one("#conversation", Input).value
            try:
                conversation = queries.get_conversation(int(number)) if number else None
                filled = templates.preview(name, body, conversation, kind=kind)
                which = f"#{number}" if number else "sample values"
                below = Content.assemble(
                    (f"Preview for {which} (F2: the variables):\n", "bold"), clean(filled)
                )
            except DeskError as exc:  # the sentence is under the body already
                below = Content.assemble(("Preview: ", "bold"), one_line(tui_sentence(exc)))
        self.query_one("#variables", Static).update(below)

    def on_mount(self) -> None:
        self.check()
        if self.original is None:
            self.query_one("#name", Input).focus()
            return
        body = self.query_one("#body", TextArea)
        body.move_cursor(body.document.end)  # editing usually adds to the end
        body.focus()

    # --- checking as you type ------------------------------------------------------------

    def values(self) -> tuple[str, str]:
        return self.query_one("#name", Input).value, self.query_one("#body", TextArea).text

    def chosen_kind(self) -> str:
        value = self.query_one("#kind", Select).value
        return value if isinstance(value, str) else REPLY

    @property
    def dirty(self) -> bool:
        return self.values() != self.initial or self.chosen_kind() != self.kind

    def check(self) -> None:
        """Each field's one sentence under it; `problem` is the first of them, "" if none."""
        name, body = self.values()
        about_name = name_problem(name, self.original, self.taken)
        about_body = body_problem(body, name, self.chosen_kind())
        self.query_one("#name-problem", Static).update(
            Content.assemble(("✗ ", "bold"), about_name) if about_name else Content("")
        )
        box = self.query_one("#body-problem", Static)
        box.set_class(not about_body, "-ok")
        box.update(
            Content.assemble(("✗ ", "bold"), about_body)
            if about_body
            else Content("✓ Every $variable is known.")
        )
        self.problem = about_name or about_body

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._leave_armed = False
        self.check()
        self._show_below()

    @on(Input.Submitted)
    def _to_body(self, event: Input.Submitted) -> None:
        """Enter in the name moves on to the body."""
        event.stop()
        self.query_one("#body", TextArea).focus()

    # --- leaving and saving --------------------------------------------------------------

    def action_back(self) -> None:
        if not self.warned_before_leaving(self.dirty):
            self.dismiss()

    def action_save(self) -> None:
        self.check()
        if self.problem:
            self.notify(f"Not saved: {self.problem}", severity="error", markup=False)
            return
        if self.saving:
            return
        self.saving = True
        name, body = self.values()
        self._save(name, body, self.original, self.chosen_kind())

    @work(thread=True, exclusive=True, group="save", exit_on_error=False, description="saving")
    def _save(self, name: str, body: str, original: str | None, kind: str) -> None:
        try:
            templates.save(name, body, renaming=original, kind=kind, html=self.html)
        except BaseException:
            self.post_message(self.Saved(None))  # let Save be pressed again; the error is
            raise  # reported by the worker's handler
        self.post_message(self.Saved(name))

    def on_template_form_screen_saved(self, message: Saved) -> None:
        self.saving = False
        if message.name is None:
            return
        self.saved = message.name
        self.notify(f"Template {one_line(message.name)!r} saved.", markup=False)
        self.dismiss()
