"""What every deskterm dialog shares: one box in the middle, over the screen it was asked from.

The look is defined once here (the box's border, background and padding, the muted hint
line), so a prompt, a passphrase, a picker and a yes/no question look alike; each dialog
gives its box the class `box` and sets only its own size. A `Confirmation` is the yes/no
kind: one paragraph in a warning-coloured box, answered by a key; `ConfirmRemove` is the one
every list asks before it removes something (a template, a policy, an organization).
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from deskterm.sanitize import one_line
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


class ConfirmRemove(Confirmation[bool]):
    """y removes it, n or Esc keeps it (the default: nothing is lost by a slip).

    `consequence` says what removing it does beyond the thing itself; the name was typed by
    an admin and is shown through `one_line`, as `Content`, never markup.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Remove it", id="remove.yes"),
        Binding("n,escape", "answer(False)", "Keep it", id="remove.no"),
    ]

    def __init__(self, noun: str, name: str, consequence: str = "This cannot be undone.") -> None:
        super().__init__()
        self.noun = noun
        self.removed_name = name
        self.consequence = consequence

    def question(self) -> Content:
        return Content.assemble(
            (f"Remove {self.noun} {one_line(self.removed_name)!r}?", "bold"),
            f" {self.consequence}\n\n",
            ("y", "bold $accent"),
            " remove it   ",
            ("n", "bold $accent"),
            " or ",
            ("esc", "bold $accent"),
            " keep it",
        )
