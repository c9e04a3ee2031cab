"""The thread's conversation type and custom fields (issue 16): a line under the header says
the type and each field's value, and `F` sets a field or the type; another says when the SLA's
running target is due (marked as the list's `due` column marks it). Part of ThreadScreen (a
mixin, as ThreadNotes is); the rules are deskterm.desk.fields, deskterm.desk.types and
deskterm.desk.sla.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.content import Content
from textual.widgets import Static

from deskterm.desk import fields, sla, types
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen
from deskterm.widgets.list_columns import due

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


STATE_WORDS = {"breached": "breached", "due_soon": "due soon"}


def due_line(detail: dict[str, Any], now: datetime) -> tuple[str, str | None]:
    """`SLA first response due 2025-03-06 10:00 Europe/Berlin (~20m, due soon)` and the
    clock's state (sla.state: breached, due_soon, running), or ("", None) when no target runs.
    The mark in brackets is the list's `due` cell, against the same clock."""
    due_at, warn_at = _moment(detail.get("due_at")), _moment(detail.get("warn_at"))
    if due_at is None:
        return "", None
    moment = now.replace(tzinfo=None)
    state = sla.state(due_at, warn_at, moment)
    target = detail.get("due_target") or ""
    mark = due({"due_at": due_at, "warn_at": warn_at}, moment)
    said = STATE_WORDS.get(state or "")
    when = detail.get("due_local") or f"{due_at:%Y-%m-%d %H:%M} UTC"
    words = f"{mark}, {said}" if said else mark
    return one_line(f"SLA {sla.TARGET_WORDS.get(target, target)} due {when} ({words})"), state


def _moment(value: str | None) -> datetime | None:
    """An ISO time from the detail as the naive UTC the desk computes with."""
    return None if not value else datetime.fromisoformat(value).replace(tzinfo=None)


class ThreadFields:
    """Mixed into ThreadScreen, which has `conversation_id`, `detail`, `reload` and the app."""

    def show_fields(self, detail: dict[str, Any]) -> None:
        """The type, fields and due lines, each time the thread is read (a status or priority
        set from the thread reads it again, and moves the due time)."""
        screen: Any = self
        line = fields_line(detail)
        box = screen.query_one("#fields", Static)
        box.update(Content(line))
        box.set_class(not line, "-none")
        said, state = due_line(detail, screen.app.clock())
        due_box = screen.query_one("#due", Static)
        due_box.update(Content(said))
        due_box.set_class(not said, "-none")
        due_box.set_class(state == "breached", "-breached")
        due_box.set_class(state == "due_soon", "-soon")

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
