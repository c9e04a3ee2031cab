"""`n` in the thread: write an internal note in a dialog, saved with ctrl+s.

The dialog writes the note itself (`deskterm.desk.notes.add`) and closes only once it is
stored, so a note refused (empty, too long) stays in front of the agent to fix rather than
being lost. Esc with text typed asks for a second Esc before the text is dropped.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static, TextArea

from deskterm.desk import notes
from deskterm.screens.dialog import Dialog


class NoteDialog(Dialog[int | None]):
    """Returns the new note's id, or None when the agent left without saving."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save the note", id="note.save"),
        Binding("escape", "cancel", "Cancel (again: drop the text)", id="note.cancel"),
    ]
    DEFAULT_CSS = """
    NoteDialog > .box { width: 80%; max-width: 100; border: round $warning; }
    NoteDialog TextArea { height: 10; }
    """

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self._leave_armed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="box") as box:
            box.border_title = f"Internal note on #{self.conversation_id}"
            yield Static(Content("Only agents see it; it is never sent."), classes="hint")
            yield TextArea(id="note", soft_wrap=True, show_line_numbers=False)
            yield Static(
                Content("ctrl+s saves · esc cancels · @handle mentions an agent"),
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self._leave_armed = False

    def action_save(self) -> None:
        with self.desk.reporting("write the note"):
            note = notes.add(self.conversation_id, self.query_one(TextArea).text)
            self.dismiss(note.id)

    def action_cancel(self) -> None:
        if self.query_one(TextArea).text.strip() and not self._leave_armed:
            self._leave_armed = True
            self.notify(
                "The note is not saved: press Esc again to drop it, or ctrl+s to save it.",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(None)
