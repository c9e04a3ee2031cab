"""The composer's "Then" line: which status the conversation takes once the reply is queued."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class StatusChoice(Widget, can_focus=True):
    """One line, "(•) pending  ( ) resolved": what the conversation becomes once queued.

    Drawn as text rather than radio buttons so the choice reads the same without colour.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,right,h,l,space", "next", "Pending or resolved", id="compose.choice"),
    ]
    DEFAULT_CSS = """
    StatusChoice { height: 1; width: 1fr; padding: 0 1; }
    StatusChoice:focus { background: $boost; }
    """

    value: reactive[str] = reactive("pending")

    class Changed(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    def __init__(self, choices: tuple[str, ...], value: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = choices
        self.set_reactive(StatusChoice.value, value if value in choices else choices[0])

    def render(self) -> Content:
        parts: list[str | tuple[str, str]] = []
        for choice in self.choices:
            on = choice == self.value
            parts += [("(•) " if on else "( ) ", "bold $accent" if on else "dim"), choice, "   "]
        return Content.assemble(*parts)

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(value))

    def action_next(self) -> None:
        index = self.choices.index(self.value)
        self.value = self.choices[(index + 1) % len(self.choices)]

    def on_click(self) -> None:
        self.action_next()
