"""An internal note in the thread, among the messages, drawn so that no one takes it for mail.

Its own widget, not a `MessageView`: the thread's message tools (links, source, forward,
attachments) count `MessageView`s to find the stored message under the reader, and a note is
none. It carries a header line of its own ("Note by <name> · internal"), a warning-coloured
left bar and a tinted background. The text is another agent's input: it is cleaned again
here (`sanitize.clean`, as stored) and assembled as `Content` from plain strings, never
parsed as markup.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from deskterm.sanitize import clean, one_line
from deskterm.widgets.message_view import when


def note_content(note: dict[str, Any]) -> Content:
    """The note as Content: the header line, then its text as written."""
    name = one_line(note.get("author_name") or "")
    author = f"Note by {name}" if name else "Note"
    handle = one_line(note.get("author") or "")
    return Content.assemble(
        ("✎ ", "bold $warning"),
        (author, "bold"),
        (f" (@{handle})" if handle else "", "dim"),
        (" · internal", "bold $warning"),
        ("  " + when(note.get("date")), "dim"),
        "\n\n",
        clean(note.get("text") or "").expandtabs(4).rstrip(),
    )


class NoteView(Static):
    """One note; `message` is the note as `queries.conversation_detail` gives it."""

    DEFAULT_CSS = """
    NoteView {
        padding: 1 1 1 1; margin: 1 0 0 0;
        border-left: thick $warning; background: $warning 10%;
    }
    """

    def __init__(self, note: dict[str, Any]) -> None:
        super().__init__(note_content(note), markup=False)
        self.message = note

    def show_message(self, note: dict[str, Any], _show_quotes: bool = False) -> None:
        """The same note read again (as the thread redraws a message that changed)."""
        self.message = note
        self.update(note_content(note))
