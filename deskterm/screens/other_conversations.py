"""Where the thread has no room beside it (80x24): the contact's other conversations in a
dialog; Enter opens one, Esc goes back to the thread."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from deskterm.sanitize import one_line
from deskterm.screens.dialog import Dialog
from deskterm.widgets.other_conversations import OtherConversations


class OtherConversationsDialog(Dialog[int | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,C", "dismiss(None)", "Back to the thread", id="others.back"),
    ]
    DEFAULT_CSS = """
    OtherConversationsDialog > .box { width: 76; }
    OtherConversationsDialog OtherConversations { height: auto; max-height: 14; border: none; }
    """

    def __init__(self, contact: str, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.contact = contact
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(Content(f"Other conversations of {one_line(self.contact)}"))
            yield OtherConversations()
            yield Static(Content("Enter opens one; Esc goes back."), classes="hint")

    def on_mount(self) -> None:
        others = self.query_one(OtherConversations)
        others.show(self.rows)
        others.focus()

    @on(OtherConversations.Chosen)
    def _chosen(self, event: OtherConversations.Chosen) -> None:
        self.dismiss(event.conversation_id)
