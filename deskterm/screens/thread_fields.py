"""The thread's conversation type and custom fields (issue 16): a line under the header says
the type and each field's value, and `F` sets a field or the type. Part of ThreadScreen (a
mixin, as ThreadNotes is); the rules are deskterm.desk.fields and deskterm.desk.types.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from deskterm.desk import fields, types
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen

HINT = (
    "NAME VALUE sets a field (an empty VALUE clears it); type NAME changes the type "
    "(type none: no type). Esc cancels."
)


def fields_line(detail: dict[str, Any]) -> str:
    """`Type billing · order A-77 · plan Basic · amount — (required)`: one line, every value
    from the database (a mapped value came from mail) made safe."""
    if not detail.get("type"):
        return ""
    parts = [f"Type {detail['type']}"]
    for field in detail.get("fields") or []:
        value = one_line(field["value"] or "") or "—"
        missing = " (required)" if field["required"] and field["value"] is None else ""
        parts.append(f"{field['name']} {value}{missing}")
    return one_line(" · ".join(parts))


class ThreadFields:
    """Mixed into ThreadScreen, which has `conversation_id`, `detail`, `reload` and the app."""

    def show_fields(self, detail: dict[str, Any]) -> None:
        screen: Any = self
        line = fields_line(detail)
        box = screen.query_one("#fields", Static)
        box.update(Content(line))
        box.set_class(not line, "-none")

    def action_fields(self) -> None:
        screen: Any = self
        detail = screen.detail or {}
        conversation_id = screen.conversation_id
        known = ", ".join(_described(f) for f in detail.get("fields") or [])
        if detail.get("type"):
            question = f"#{conversation_id} is of type {detail['type']}; its fields: {known}."
        else:
            with screen.desk.reporting("read the types"):
                names = ", ".join(types.names()) or "none yet"
            question = f"#{conversation_id} has no type (types: {names})."

        def answered(answer: str | None) -> None:
            if answer is None or not answer.strip():
                return
            word, _, rest = answer.strip().partition(" ")
            with screen.desk.reporting("change the fields"):
                if word.lower() == "type":
                    chosen = rest.strip()
                    now = types.set_type(conversation_id, None if chosen == "none" else chosen)
                    said = f"of type {now}" if now else "untyped"
                else:
                    kept = fields.set_value(conversation_id, word, rest)
                    said = f"{one_line(word).lower()} {one_line(kept)}" if kept else "cleared"
                screen.notify(f"#{conversation_id}: {said}.", markup=False)
                screen.reload()

        screen.app.push_screen(PromptScreen(one_line(question), "", HINT), answered)


def _described(field: dict[str, Any]) -> str:
    """A field as the prompt names it: `plan (Basic, Pro)`, `amount (number, admins only)`."""
    said = [", ".join(field["choices"]) if field["choices"] else field["kind"]]
    if field["restricted"]:
        said.append("admins only")
    if field["required"]:
        said.append("required")
    return f"{field['name']} ({'; '.join(said)})"
