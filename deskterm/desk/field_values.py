"""Custom fields' values as stored: what each kind accepts, and the values' rows.

A conversation has the fields of its type (deskterm.desk.types defines them). Every value,
whoever gives it (an agent in the thread, `deskterm field set`, a channel's mapping from mail,
a routing rule), goes through `canonical`, so a number, a date, a choice or an agent is stored
in one spelling, and the list's `field:NAME=VALUE` filter finds it however it was typed.

This is the lower half, which the read model (`queries`, `filters`) uses; setting a value as
an agent does is `deskterm.desk.fields.set_value`. Ingest fills a new conversation's values in
its batch with `initial_rows`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import peewee

from deskterm.desk import agents
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import Conversation, FieldValue, TypeField

KINDS = ("text", "number", "date", "choice", "agent")
MAX_VALUE = 500  # characters of a text value (a mapped subject is cut there)


def canonical(field: TypeField, value: str | None) -> str | None:
    """`value` as the field keeps it, or None for empty; a value the kind does not take is
    refused with one sentence naming the field and what it takes."""
    text = one_line(value or "")
    if not text:
        return None
    return checked(field.kind, text, list(field.choices or []), field.name)


def checked(kind: str, text: str, choices: list[str], name: str) -> str:
    """A non-empty one-line value of a kind in its one spelling (see `canonical`)."""
    if kind == "text":
        return text[:MAX_VALUE]
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or len(text) > 40:
            raise ConfigError(f"{name} takes a number, e.g. 42 or 9.50; {text[:40]!r} is not one.")
        shown = format(number.normalize(), "f")
        return "0" if shown in ("-0", "0") else shown
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ConfigError(
                f"{name} takes a date written 2024-01-31; {text[:40]!r} is not one."
            ) from None
    if kind == "choice":
        for choice in choices:
            if choice.casefold() == text.casefold():
                return choice
        raise ConfigError(
            f"{name} takes one of {', '.join(choices)}; {text[:40]!r} is not one of them."
        )
    if kind == "agent":
        try:
            handle = agents.assignee(text)  # a handle, an address or `me`
        except NotFound as exc:  # a value refused, as any other kind's
            raise ConfigError(str(exc)) from None
        if handle is None:
            raise ConfigError(f"{name} takes an agent's handle; leave it empty for nobody.")
        return handle
    raise ConfigError(f"A field's kind is one of {', '.join(KINDS)}, not {kind!r}.")


def fields_of_type(type_id: int | None) -> list[TypeField]:
    """A type's fields in the order the thread shows them."""
    if type_id is None:
        return []
    query = TypeField.select().where(TypeField.conversation_type == type_id)
    return list(query.order_by(TypeField.position, TypeField.id))


def values_of(conversation: Conversation) -> list[dict[str, Any]]:
    """The conversation's fields (its type's, in order) with their values, as `show --json`
    gives them: `{name, kind, value, required, restricted, choices}`, value None when empty."""
    fields = fields_of_type(conversation.conversation_type_id)
    held = dict(
        FieldValue.select(FieldValue.type_field, FieldValue.value)
        .where(FieldValue.conversation == conversation.id)
        .tuples()
    )
    return [
        {
            "name": f.name,
            "kind": f.kind,
            "value": held.get(f.id),
            "required": f.required,
            "restricted": f.restricted,
            "choices": list(f.choices or []),
        }
        for f in fields
    ]


def values_for(conversation_ids: list[int]) -> dict[int, dict[str, str]]:
    """Each conversation's non-empty values by field name, in one query (the list's rows)."""
    found: dict[int, dict[str, str]] = {}
    if not conversation_ids:
        return found
    query = (
        FieldValue.select(FieldValue.conversation, TypeField.name, FieldValue.value)
        .join(TypeField)
        .where(FieldValue.conversation.in_(conversation_ids))
        .order_by(TypeField.position, TypeField.id)
        .tuples()
    )
    for conversation_id, name, value in query:
        found.setdefault(conversation_id, {})[name] = value
    return found


def write(conversation_id: int, field: TypeField, value: str | None) -> None:
    """Store a checked value (None: none) of one field."""
    with database.atomic():
        FieldValue.delete().where(
            (FieldValue.conversation == conversation_id) & (FieldValue.type_field == field.id)
        ).execute()
        if value is not None:
            FieldValue.create(
                conversation=conversation_id, type_field=field.id, value=value, key=value.casefold()
            )


def initial_rows(
    conversation_id: int, fields: list[TypeField], given: dict[str, str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """A new conversation's value rows (for `FieldValue`'s bulk insert): each field's value
    from `given` (by name: what a channel's mappings found in the mail), else its default.
    A given value its field does not take is left for the default, and said in the notes
    returned (the mail is hostile; its batch goes on)."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for field in fields:
        value = None
        if given.get(field.name):
            try:
                value = canonical(field, given[field.name])
            except ConfigError as exc:
                notes.append(f"{field.name}: {exc}"[:300])
        if value is None:
            value = field.default
        if value is not None:
            rows.append(
                {
                    "conversation": conversation_id,
                    "type_field": field.id,
                    "value": value,
                    "key": value.casefold(),
                }
            )
    return rows, notes


def filter_condition(name: str, value: str) -> peewee.Expression:
    """Conversations whose field `name` (of whichever type has one so called) holds `value`,
    in that field's spelling (`amount=9.50` finds 9.5); `value` empty: those where it is
    empty or absent."""
    fields = list(TypeField.select().where(TypeField.name == one_line(name).lower()))
    if not fields:
        raise ConfigError(
            f"No type has a field {one_line(name)[:40]!r}; `deskterm type list` shows the types."
        )
    if not value:
        held = FieldValue.select(FieldValue.conversation).where(
            FieldValue.type_field.in_([f.id for f in fields])
        )
        return Conversation.id.not_in(held)
    keys: dict[int, str] = {}
    for field in fields:
        try:
            keys[field.id] = checked(field.kind, one_line(value), list(field.choices), field.name)
        except ConfigError:
            continue  # not a value of this field: it cannot hold it
    condition = peewee.Value(False)
    for field_id, key in keys.items():
        condition |= (FieldValue.type_field == field_id) & (FieldValue.key == key.casefold())
    return Conversation.id.in_(FieldValue.select(FieldValue.conversation).where(condition))


def search_condition(search: str) -> peewee.ModelSelect | None:
    """Conversations with a field holding exactly what was searched (any case): an order
    number typed into the list's search finds its conversation, through the `key` index."""
    key = one_line(search).casefold()
    if not key or len(key) > MAX_VALUE:
        return None
    return FieldValue.select(FieldValue.conversation).where(FieldValue.key == key)
