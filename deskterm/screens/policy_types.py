"""The fourth Policies list (`4`): conversation types, each followed by its custom fields.

One table holds both, a type's line and then its fields' lines indented under it, so an admin
sees a type whole; `a` adds a type, `f` a field to the highlighted type (or to the type of the
highlighted field), `e` edits and `d` removes whichever line is highlighted. All of it goes
through desk/types, the functions `deskterm type|field add|edit|remove` call.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from deskterm.desk import types
from deskterm.sanitize import one_line
from deskterm.screens.policy_list import PolicyListScreen
from deskterm.screens.table import cell
from deskterm.screens.type_forms import FieldFormScreen, TypeFormScreen, field_key


def field_marks(row: dict[str, Any]) -> str:
    """A field's required/restricted marks and choices, in words."""
    marks = [m for m in ("required", "restricted") if row[m]]
    if row["choices"]:
        marks.append("choices " + ", ".join(row["choices"]))
    return "; ".join(marks)


class TypesScreen(PolicyListScreen):
    TAB = "types"
    NOUN = "type"
    KEY = "key"
    HINTS = "a type  f field  e edit  d remove  1-4 lists"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "add_field", "Add a field to the type", id="types.add_field"),
    ]

    @property
    def EMPTY_HINT(self) -> str:  # type: ignore[override]
        return "There is no type here; press a to add one."

    def columns(self) -> tuple[tuple[str, int | None], ...]:
        return (("name", 20), ("kind", 7), ("default", 14), ("about", None))

    def read(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for found in types.all_types():
            item = types.describe(found)
            rows.append({**item, "key": item["name"], "row": "type"})
            for field in item["fields"]:
                key = field_key(item["name"], field["name"])
                rows.append({**field, "key": key, "row": "field", "type": item["name"]})
        return rows

    def cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        if row["row"] == "type":
            return (
                cell(row["name"], "bold"),
                cell("type"),
                cell(""),
                cell(row["description"]),
            )
        name = cell(row["name"])
        name.pad_left(2)  # under its type
        return (
            name,
            cell(row["kind"]),
            cell(row["default"] if row["default"] is not None else ""),
            cell(field_marks(row)),
        )

    def details(self, row: dict[str, Any]) -> str:
        if row["row"] == "type":
            count = len(row["fields"])
            lines = [
                f"{row['name']}: {row['description'] or '(no description)'}",
                f"{count} field(s); f adds one" if count else "no fields yet; f adds one",
            ]
        else:
            default = row["default"] if row["default"] is not None else "none"
            lines = [
                f"field {row['name']} of type {row['type']}: {row['kind']}, default {default}",
                field_marks(row) or "optional, any agent may change it",
            ]
        return "\n".join(one_line(line) for line in lines)

    def noun(self, row: dict[str, Any]) -> str:
        return "type" if row["row"] == "type" else "field"  # its type: in the line below

    def form(self, row: dict[str, Any] | None) -> Any:
        if row is not None and row["row"] == "field":
            return FieldFormScreen(row["type"], row)
        return TypeFormScreen(row)

    def delete(self, row: dict[str, Any]) -> None:
        if row["row"] == "type":
            types.remove(row["name"])
        else:
            types.remove_field(row["type"], row["name"])

    def action_add_field(self) -> None:
        row = self._selected()
        if row is not None:
            owner = row["name"] if row["row"] == "type" else row["type"]
            self.edit(FieldFormScreen(str(owner), None))
