"""`t` in the rules list: what the rules would do with a conversation's first mail, shown in
a dialog, storing nothing (desk/rules/trial, as `deskterm rule test --conversation`).

The conversation asked about is the one the list under the Policies screens had highlighted,
offered in a prompt that takes any other number.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.dialog import Dialog
from deskterm.screens.words import tui_words


def listed_conversation(stack: list[object]) -> int | None:
    """The conversation highlighted in the list the Policies screens were opened from."""
    for screen in reversed(stack):
        if isinstance(screen, ConversationsScreen):
            return screen.conversations.current_id
    return None


class TrialScreen(Dialog[None]):
    """The trial's lines (each one clean line from the engine); Esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="rule_trial.close"),
    ]
    DEFAULT_CSS = """
    TrialScreen > .box { width: 76; max-height: 20; }
    """

    def __init__(self, conversation_id: int, lines: list[str]) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="box"):
            yield Static(
                Content.assemble(
                    (f"The rules on #{self.conversation_id}'s first mail", "bold"),
                    " (nothing is stored)",
                )
            )
            yield Static(Content("\n".join(tui_words(line) for line in self.lines)), id="trial")
            yield Static(Content("esc close"), classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
