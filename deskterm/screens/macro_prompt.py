"""`x`: pick a macro and apply it, to the open conversation (the thread) or to the marked
ones (the list), through `deskterm.outbound.macros`: all of it in one transaction, recorded
as one entry of the session's history, so one `u` undoes it whole.

From a thread, a macro's `template` action opens the composer with the template filled;
from the list it inserts nothing and sends nothing (the sentence says so). A `send` macro
queues its reply wherever it is applied.

Macro names were typed by anyone with the CLI: shown as `Content`, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from deskterm.desk import macros
from deskterm.outbound import macros as applying
from deskterm.sanitize import one_line
from deskterm.screens.dialog import Dialog
from deskterm.screens.triage_prompts import history

if TYPE_CHECKING:
    from deskterm.app import DeskApp


class MacroMenu(Dialog[str | None]):
    """Pick a macro (each with what it does); returns its name, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="macro.cancel"),
    ]
    DEFAULT_CSS = """
    MacroMenu > .box { width: 72; max-height: 80%; }
    MacroMenu OptionList { height: auto; max-height: 12; }
    MacroMenu OptionList, MacroMenu OptionList:focus { border: none; padding: 0; }
    """

    def __init__(self, rows: list[tuple[str, str]], heading: str) -> None:
        super().__init__()
        self.rows = rows  # (name, what it does)
        self.heading = heading

    def compose(self) -> ComposeResult:
        options = [
            Option(Content.assemble((one_line(name), "bold"), "  ", (what, "dim")), id=name)
            for name, what in self.rows
        ]
        if not options:
            options.append(
                Option(Content("No macros yet: `deskterm macro add` makes one."), disabled=True)
            )
        with Vertical(classes="box") as box:
            box.border_title = self.heading
            yield OptionList(*options)
            yield Static(Content("Enter applies it, esc cancels; u undoes it."), classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_macro(
    desk: DeskApp,
    ids: list[int],
    then: Callable[[], None],
    compose_with: Callable[[str], None] | None = None,
) -> None:
    """Ask which macro, apply it to `ids`; `compose_with` (a thread's) opens the composer
    with the macro's template filled, when it has one."""
    with desk.reporting("list the macros"):
        rows = [(m.name, macros.summary(m)) for m in macros.all_macros()]
    which = f"#{ids[0]}" if len(ids) == 1 else f"{len(ids)} conversations"

    def chosen(name: str | None) -> None:
        if name is None:
            return
        with desk.reporting("apply the macro"):
            done = applying.apply_all(
                ids, name, history=history(desk), insert_template=compose_with is not None
            )
            desk.notify(done.sentence(), markup=False)
            then()
            if done.template_text is not None and compose_with is not None:
                compose_with(done.template_text)

    desk.push_screen(MacroMenu(rows, f"Apply a macro to {which}"), chosen)
