"""What every deskterm dialog shares: one box in the middle, over the screen it was asked from.

The look is defined once here (the box's border, background and padding, the muted hint
line), so a prompt, a passphrase, a picker and a yes/no question look alike; each dialog
gives its box the class `box` and sets only its own size. A `Confirmation` is the yes/no
kind: one paragraph in a warning-coloured box, answered by a key.
"""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from deskterm.screens.base import OnTheDesk

ResultType = TypeVar("ResultType")


class Dialog(OnTheDesk, ModalScreen[ResultType]):
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > .box {
        max-width: 100%; height: auto; border: round $primary; background: $surface;
        padding: 0 1;
    }
    Dialog > .box.-warning { border: round $warning; }
    Dialog .hint { color: $text-muted; }
    """


class Confirmation(Dialog[ResultType]):
    """A question answered with a key: the screen's bindings call `answer` with the result."""

    DEFAULT_CSS = """
    Confirmation > .box { width: 60; }
    """

    def question(self) -> Content:
        """The paragraph shown: the question, then the keys that answer it."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Static(self.question(), classes="box -warning")

    def action_answer(self, answer: ResultType) -> None:
        self.dismiss(answer)
