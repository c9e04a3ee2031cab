"""The contact's other conversations, as a list the agent opens one of (Enter or a click).

Shown beside a thread (under its header where the terminal has room; in a dialog at 80x24).
Subjects come from mail: made safe with `one_line` and passed as `Content`, never markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from deskterm.sanitize import one_line


def label(row: dict[str, Any]) -> Content:
    """One conversation in a line: `#21 resolved  Thank you!`."""
    return Content.assemble(
        (f"#{row['id']} ", "bold"),
        (f"{row['status']:<9}", "dim"),
        one_line(row["subject"] or "(no subject)"),
    )


class OtherConversations(OptionList):
    """Each option's id is the conversation's; choosing one posts `Chosen`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Next", show=False, id="others.down"),
        Binding("k", "cursor_up", "Previous", show=False, id="others.up"),
    ]

    class Chosen(Message):
        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def show(self, rows: list[dict[str, Any]]) -> None:
        self.clear_options()
        self.add_options(Option(label(row), id=str(row["id"])) for row in rows)
        if rows:
            self.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(int(event.option.id)))
