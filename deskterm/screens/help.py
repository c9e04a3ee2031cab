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

# Textual's own bindings, in deskterm's words; the ones not here keep Textual's description.
_TEXTUAL_WORDS = {
    "command_palette": "Command palette: every action by name",
    "app.focus_next": "Next field",
    "app.focus_previous": "Previous field",
}
# Textual's actions that do what a deskterm binding on the same screen does: their keys join
# that binding's row (the tables' arrows are j/k's "Next"/"Previous").
_TEXTUAL_SAME_AS = {
    "cursor_down": "cursor('down')",
    "cursor_up": "cursor('up')",
    "scroll_top": "cursor('top')",
    "scroll_bottom": "cursor('bottom')",
}
# Textual's bindings that say nothing an agent needs: the message text wraps, so it never
# scrolls sideways (the tables have their own arrows).
_TEXTUAL_HIDDEN = {"scroll_left", "scroll_right", "page_left", "page_right"}


def binding_rows(screen: Screen[object]) -> list[tuple[str, str]]:
    """(keys, what they do) for every binding from the focused widget up to the app.

    Walks the binding chain rather than `active_bindings`, which keeps one binding per key:
    Enter opens a conversation in the list and keeps the search in the search box, and both
    belong in the help.

    One list, in deskterm's words (issue 14): every deskterm binding has an id and Textual's
    have none, so a Textual default is left out where a deskterm binding already names one of
    its keys (the thread's arrows and Home/End scroll either way, and the help says it once)
    or another Textual binding nearer the focus already named (the composer's ctrl+c copies
    once), Textual's system bindings (ctrl+c's "press ctrl+q to quit") are never listed, and
    a Textual action that does what a deskterm binding does joins that binding's row. Rows
    with the same description are one row (`q` and ctrl+q both quit).
    """
    app = screen.app
    chain = [bindings for _node, bindings in screen._modal_binding_chain]
    ours = {key for bindings in chain for key, binding in bindings if binding.id is not None}
    our_words = {
        binding.action: binding.description
        for bindings in chain
        for _key, binding in bindings
        if binding.id is not None and binding.description
    }
    rows: dict[str, list[str]] = {}
    textual_keys: set[str] = set()
    for bindings in chain:
        for key, binding in bindings:
            if binding.id is None:
                if (
                    binding.system
                    or key in ours
                    or key in textual_keys
                    or binding.action in _TEXTUAL_HIDDEN
                ):
                    continue
                textual_keys.add(key)
            description = (
                (
                    _TEXTUAL_WORDS.get(binding.action)
                    or our_words.get(_TEXTUAL_SAME_AS.get(binding.action, ""))
                    if binding.id is None
                    else None
                )
                or binding.description
                or binding.action.replace("_", " ")
            )
            keys = rows.setdefault(description, [])
            display = app.get_key_display(binding)
            if display not in keys:
                keys.append(display)
    return [(", ".join(keys), description) for description, keys in rows.items()]


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
