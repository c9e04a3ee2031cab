"""The thread's internal notes (issue 15): `n` writes one, and a note another agent writes
while the thread is open is announced as new mail is. Part of ThreadScreen (a mixin, as
ThreadAttachments is), kept apart so the thread stays about reading and triage.

Notes are drawn as `NoteView`s among the messages (the thread's `_view`); the dialog is
screens/note_dialog, the rules deskterm.desk.notes.
"""

from __future__ import annotations

from typing import Any

from deskterm.sanitize import one_line


class ThreadNotes:
    """Mixed into ThreadScreen, which has `conversation_id`, `reload` and the app."""

    _to_end = False  # after the agent's own note: scroll to it once it is shown

    def action_note(self) -> None:
        from deskterm.screens.note_dialog import NoteDialog

        screen: Any = self

        def written(note_id: int | None) -> None:
            if note_id is not None:
                self._to_end = True
                screen.notify("Note saved: only agents see it.", markup=False)
                screen.reload()

        screen.app.push_screen(NoteDialog(screen.conversation_id), written)

    def note_news(self, added: list[dict[str, Any]]) -> str | None:
        """The line announcing notes that arrived below (None for the agent's own)."""
        noted = [m for m in added if m.get("direction") == "note"]
        if not noted or self._to_end:
            return None
        name = one_line(noted[-1].get("author_name") or "") or "an agent"
        what = "A new note" if len(noted) == 1 else f"{len(noted)} new notes"
        return f"{what} by {name} below: press G (End) to see it."
