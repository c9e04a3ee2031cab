"""Conversation types and their custom fields: what the admin defines, and a conversation's
type.

A type (question, incident, billing) names the fields its conversations have; a channel may
limit the types its conversations take (`[tickets] types`) and names a new one's type
(`default_type`). Defining types and fields is an admin's part (`agents.may_administer`).
The one call for other parts of the desk (routing rules, macros) that give a conversation a
type is `set_type(conversation_id, name)`; its values go through deskterm.desk.fields.
"""

from __future__ import annotations

import re
from typing import Any

from deskterm.channels.typed import ChannelConfig
from deskterm.desk import agents, sla
from deskterm.desk import field_values as fields
from deskterm.desk.queries import get_conversation
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import Conversation, ConversationType, FieldValue, TypeField

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MAX_DESCRIPTION = 200
MAX_CHOICES = 100


def _name(text: str, what: str) -> str:
    name = one_line(text).lower()
    if not NAME.fullmatch(name):
        raise ConfigError(
            f"{one_line(text)[:40]!r} is not a {what} name; use up to 32 lower-case letters, "
            "digits, '.', '_' or '-'."
        )
    return name


def _description(text: str) -> str:
    shown = one_line(text)
    if len(shown) > MAX_DESCRIPTION:
        raise ConfigError(f"A type's description may be at most {MAX_DESCRIPTION} characters.")
    return shown


def add(name: str, description: str = "") -> ConversationType:
    """A new conversation type (an admin's part)."""
    agents.require_admin("define conversation types")
    name = _name(name, "type")
    shown = _description(description)
    if ConversationType.select().where(ConversationType.name == name).exists():
        raise ConfigError(f"A type named {name!r} exists; `deskterm type show {name}` shows it.")
    return ConversationType.create(name=name, description=shown)


def edit(name: str, description: str) -> ConversationType:
    """Describe a type anew (an admin's part); its name stays, as rules, macros, SLA policies
    and channels name it."""
    agents.require_admin("define conversation types")
    found = get(name)
    found.description = _description(description)
    found.save()
    return found


def all_types() -> list[ConversationType]:
    return list(ConversationType.select().order_by(ConversationType.name))


def names() -> list[str]:
    return [t.name for t in all_types()]


def get(name: str) -> ConversationType:
    found = ConversationType.get_or_none(ConversationType.name == one_line(name).lower())
    if found is None:
        raise NotFound(
            f"There is no type {one_line(name)[:40]!r}; `deskterm type list` shows the types."
        )
    return found


def remove(name: str) -> int:
    """Remove a type (an admin's part): its conversations become untyped and lose its
    fields' values. Returns how many conversations had it."""
    agents.require_admin("remove conversation types")
    found = get(name)
    with database.atomic():
        had = (
            Conversation.update(conversation_type=None)
            .where(Conversation.conversation_type == found.id)
            .execute()
        )
        found.delete_instance(recursive=True)  # its fields and their values
    return had


def describe(found: ConversationType) -> dict[str, Any]:
    """A type as `type show --json` prints it."""
    return {
        "name": found.name,
        "description": found.description,
        "fields": [field_item(f) for f in fields.fields_of_type(found.id)],
    }


def field_item(field: TypeField) -> dict[str, Any]:
    return {
        "name": field.name,
        "kind": field.kind,
        "choices": list(field.choices or []),
        "default": field.default,
        "required": field.required,
        "restricted": field.restricted,
    }


def add_field(
    type_name: str,
    name: str,
    kind: str,
    *,
    choices: list[str] | None = None,
    default: str | None = None,
    required: bool = False,
    restricted: bool = False,
) -> TypeField:
    """A new field of a type (an admin's part). A choice field needs its choices; the
    default must be a value the field takes. Conversations of the type already get the
    default (a required field without one stays empty until an agent fills it)."""
    agents.require_admin("define fields")
    found = get(type_name)
    name = _name(name, "field")
    if kind not in fields.KINDS:
        raise ConfigError(f"A field's kind is one of {', '.join(fields.KINDS)}, not {kind!r}.")
    listed, kept = _terms(name, kind, choices, default)
    if (
        TypeField.select()
        .where((TypeField.conversation_type == found.id) & (TypeField.name == name))
        .exists()
    ):
        raise ConfigError(f"Type {found.name} has a field {name!r} already.")
    position = TypeField.select().where(TypeField.conversation_type == found.id).count()
    with database.atomic():
        field = TypeField.create(
            conversation_type=found.id,
            name=name,
            kind=kind,
            choices=listed,
            default=kept,
            required=required,
            restricted=restricted,
            position=position,
        )
        if kept is not None:
            typed = Conversation.select(Conversation.id).where(
                Conversation.conversation_type == found.id
            )
            FieldValue.insert_from(
                typed.select(Conversation.id, field.id, kept, kept.casefold()),
                [FieldValue.conversation, FieldValue.type_field, FieldValue.value, FieldValue.key],
            ).execute()
    return field


def _terms(
    name: str, kind: str, choices: list[str] | None, default: str | None
) -> tuple[list[str], str | None]:
    """A field's choices (each once, in order) and its default in its kind's spelling, checked
    (the one set of checks for adding and editing a field)."""
    listed = [one_line(c) for c in (choices or []) if one_line(c)]
    if kind == "choice" and not listed:
        raise ConfigError.naming(
            "A choice field needs its choices; give them with {setting.choices}."
        )
    if kind != "choice" and listed:
        raise ConfigError(f"Only a choice field has choices; {name} is a {kind} field.")
    if len(listed) > MAX_CHOICES or any(len(c) > 100 for c in listed):
        raise ConfigError(f"A field may have up to {MAX_CHOICES} choices of 100 characters.")
    listed = list(dict.fromkeys(listed))
    text = one_line(default or "")
    return listed, fields.checked(kind, text, listed, name) if text else None


def edit_field(
    type_name: str,
    name: str,
    *,
    choices: list[str] | None = None,
    default: str | None = None,
    required: bool = False,
    restricted: bool = False,
) -> TypeField:
    """Change a field's choices, default and marks (an admin's part); its name and kind stay
    (values are stored in the kind's spelling). The new default is for conversations typed
    from now on. A choice that conversations hold may not be dropped: their value would be
    one the field no longer takes."""
    agents.require_admin("define fields")
    field = get_field(type_name, name)
    listed, kept = _terms(field.name, field.kind, choices, default)
    dropped = [c for c in field.choices or [] if c not in listed]
    if dropped:
        held = (
            FieldValue.select()
            .where((FieldValue.type_field == field.id) & FieldValue.value.in_(dropped))
            .count()
        )
        if held:
            raise ConfigError(
                f"{held} conversation(s) hold {field.name} = {', '.join(dropped)}; keep the "
                "choice, or give them another value first."
            )
    field.choices, field.default = listed, kept
    field.required, field.restricted = required, restricted
    field.save()
    return field


def get_field(type_name: str, name: str) -> TypeField:
    found = get(type_name)
    field = (
        TypeField.select()
        .where((TypeField.conversation_type == found.id) & (TypeField.name == name.lower()))
        .first()
    )
    if field is None:
        raise NotFound(f"Type {found.name} has no field {one_line(name)[:40]!r}.")
    return field


def remove_field(type_name: str, name: str) -> None:
    """Remove a field from a type, and its values (an admin's part)."""
    agents.require_admin("remove fields")
    get_field(type_name, name).delete_instance(recursive=True)


def allowed(config: ChannelConfig, name: str) -> bool:
    """Whether a conversation of this channel may have the type (`[tickets] types`)."""
    return not config.tickets.types or name in config.tickets.types


def set_type(conversation_id: int, name: str | None) -> str | None:
    """Give a conversation a type (None or empty: none); returns the type's name.

    Its channel must allow the type (`[tickets] types`). Values of fields the new type has
    under the same name are kept where the new field takes them; the others go, and the new
    type's other fields get their defaults."""
    conversation = get_conversation(conversation_id)
    if not one_line(name or ""):
        new: ConversationType | None = None
    else:
        new = get(name or "")
        config = ChannelConfig.of(conversation.channel)
        if not allowed(config, new.name):
            raise ConfigError(
                f"Channel {conversation.channel.name} allows only the types "
                f"{', '.join(config.tickets.types)}; {new.name} is not one of them."
            )
    if (new.id if new else None) == conversation.conversation_type_id:
        return new.name if new else None
    old_values = {v["name"]: v["value"] for v in fields.values_of(conversation)}
    with database.atomic():
        FieldValue.delete().where(FieldValue.conversation == conversation_id).execute()
        Conversation.update(conversation_type=new.id if new else None).where(
            Conversation.id == conversation_id
        ).execute()
        for field in fields.fields_of_type(new.id if new else None):
            try:
                value = fields.canonical(field, old_values.get(field.name))
            except ConfigError:
                value = None
            fields.write(conversation_id, field, value if value is not None else field.default)
        sla.refresh([conversation_id])  # a policy may be for this type (`sla add --type`)
    return new.name if new else None


def type_of(conversation: Conversation) -> str | None:
    """The name of a conversation's type (None: untyped)."""
    if conversation.conversation_type_id is None:
        return None
    found = ConversationType.get_or_none(ConversationType.id == conversation.conversation_type_id)
    return found.name if found else None
