"""`?`: every key that works where the agent is, read from the live bindings.

Built from `Screen.active_bindings`, so it can never disagree with what the keys do, and it
shows keys remapped with `App.set_keymap` as they are now.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from deskterm.screens.dialog import Dialog


def binding_rows(screen: Screen[object]) -> list[tuple[str, str]]:
    """(keys, what they do) for every binding from the focused widget up to the app.

    Walks the binding chain rather than `active_bindings`, which keeps one binding per key:
    Enter opens a conversation in the list and keeps the search in the search box, and both
    belong in the help.
    """
    app = screen.app
    rows: dict[tuple[str, str], list[str]] = {}
    for _node, bindings in screen._modal_binding_chain:
        for _key, binding in bindings:
            description = binding.description or binding.action.replace("_", " ")
            keys = rows.setdefault((binding.action, description), [])
            display = app.get_key_display(binding)
            if display not in keys:
                keys.append(display)
    return [(", ".join(keys), description) for (_action, description), keys in rows.items()]


class HelpScreen(Dialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen > .box { width: 64; max-height: 90%; }
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        width = max((len(keys) for keys, _ in self.rows), default=8)
        lines = [
            Content.assemble((keys.ljust(width), "bold $accent"), "  ", description)
            for keys, description in self.rows
        ]
        with VerticalScroll(classes="box") as box:
            box.border_title = "Keys (esc closes)"
            yield Static(Content("\n").join(lines))
