"""The forms of the types list (screens/policy_types.py): a conversation type, and a custom
field of one. One input per option of `deskterm type add|edit` and `field add|edit`, saved
through the same desk/types functions in a thread, so the engine alone decides what is valid;
a refusal is its sentence under the form in the TUI's words (screens/words.py).

A type's name and a field's name and kind are fixed once saved (rules, macros, SLA policies
and channels name a type; values are kept in their kind's spelling): editing shows them, but
only the rest can change, as with `type edit` and `field edit`.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Input, Select

from deskterm.desk import types
from deskterm.desk.field_values import KINDS
from deskterm.sanitize import one_line
from deskterm.screens.channel_fields import list_text, parse_list
from deskterm.screens.policy_forms import PolicyFormScreen, labelled


def field_key(type_name: str, name: str) -> str:
    """A field's key in the types list ('/' is in no type's or field's name)."""
    return f"{type_name}/{name}"


class TypeFormScreen(PolicyFormScreen):
    """A type's name and description; saved by `types.add` or `types.edit`."""

    NOUN = "type"

    def body(self) -> ComposeResult:
        row = self.row or {}
        with VerticalScroll(id="form"):
            name = Input(
                one_line(self.original or ""),
                placeholder="e.g. billing",
                compact=True,
                id="name",
                disabled=self.original is not None,
            )
            yield labelled("name", name)
            about = one_line(str(row.get("description", "")))
            yield labelled(
                "description",
                Input(about, placeholder="what it is for, for agents", compact=True, id="about"),
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#about" if self.original else "#name", Input).focus()

    def form_values(self) -> tuple[Any, ...]:
        return tuple(self.query_one(f"#{key}", Input).value for key in ("name", "about"))

    def store(self, values: tuple[Any, ...]) -> str:
        name, about = values
        if self.original is None:
            return str(types.add(name, about).name)
        return str(types.edit(self.original, about).name)


class FieldFormScreen(PolicyFormScreen):
    """A field of `type_name`: name, kind, choices, default, required, restricted; saved by
    `types.add_field` or `types.edit_field`."""

    NOUN = "field"

    def __init__(self, type_name: str, row: dict[str, Any] | None) -> None:
        super().__init__(row)
        self.type_name = type_name

    def heading(self) -> str:
        owner = one_line(self.type_name)
        if self.original is None:
            return f"New field of type {owner}"
        return f"Field {one_line(self.original)} of type {owner}"

    def key_of(self, name: str) -> str:
        return field_key(self.type_name, name)

    def body(self) -> ComposeResult:
        row = self.row or {}
        editing = self.original is not None
        default = row.get("default")
        with VerticalScroll(id="form"):
            yield labelled(
                "name",
                Input(
                    one_line(self.original or ""),
                    placeholder="e.g. order",
                    compact=True,
                    id="name",
                    disabled=editing,
                ),
            )
            kinds = [(Content(k), k) for k in KINDS]
            yield labelled(
                "kind",
                Select(
                    kinds,
                    value=row.get("kind", "text"),
                    allow_blank=False,
                    compact=True,
                    id="kind",
                    disabled=editing,
                ),
            )
            choices = one_line(list_text(list(row.get("choices", []))))
            yield labelled(
                "choices",
                Input(
                    choices, placeholder="a choice field's: Basic, Pro", compact=True, id="choices"
                ),
            )
            yield labelled(
                "default",
                Input(
                    one_line(default or ""),
                    placeholder="a new conversation's value; empty: none",
                    compact=True,
                    id="default",
                ),
            )
            for key, words in (
                ("required", "it may never be emptied"),
                ("restricted", "only admins may change it"),
            ):
                yield labelled(
                    key, Checkbox(Content(words), bool(row.get(key)), compact=True, id=key)
                )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#choices" if self.original else "#name", Input).focus()

    def form_values(self) -> tuple[Any, ...]:
        texts = [self.query_one(f"#{k}", Input).value for k in ("name", "choices", "default")]
        kind = self.query_one("#kind", Select).value
        marks = [self.query_one(f"#{k}", Checkbox).value for k in ("required", "restricted")]
        return (*texts, kind, *marks)

    def store(self, values: tuple[Any, ...]) -> str:
        name, choices_text, default, kind, required, restricted = values
        terms = {
            "choices": [str(c) for c in parse_list("choices", choices_text)],
            "default": default,
            "required": bool(required),
            "restricted": bool(restricted),
        }
        if self.original is None:
            return str(types.add_field(self.type_name, name, str(kind), **terms).name)
        return str(types.edit_field(self.type_name, self.original, **terms).name)
