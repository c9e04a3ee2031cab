"""Setting a conversation's custom field, as an agent, a script or a rule does.

The one call for every part of the desk that changes a field (the thread's key, `deskterm
field set`, routing rules, macros) is `set_value(conversation_id, name, value)`: it checks the
value against its field (deskterm.desk.field_values), refuses to clear a required field, and
lets only an admin change a restricted one (`agents.may_administer`).
"""

from __future__ import annotations

from deskterm.desk import agents
from deskterm.desk.field_values import canonical, fields_of_type, write
from deskterm.desk.queries import get_conversation
from deskterm.errors import ConfigError
from deskterm.sanitize import one_line
from deskterm.store.models import Conversation, TypeField


def set_value(conversation_id: int, name: str, value: str | None) -> str | None:
    """Give a conversation's field a value (None or empty clears it); returns the value kept.

    Refused with one sentence: a conversation without a type, a field its type does not have,
    a value the field's kind does not take, clearing a required field, and a restricted field
    changed by someone who is not an admin.
    """
    conversation = get_conversation(conversation_id)
    field = field_named(conversation, name)
    if field.restricted:
        agents.require_admin(f"change {field.name}, which is restricted to admins")
    kept = canonical(field, value)
    if kept is None and field.required:
        raise ConfigError(f"{field.name} is required on #{conversation_id}; give it a value.")
    write(conversation_id, field, kept)
    return kept


def field_named(conversation: Conversation, name: str) -> TypeField:
    """The field of the conversation's type called `name`, or one sentence saying what is."""
    if conversation.conversation_type_id is None:
        raise ConfigError(
            f"#{conversation.id} has no type, so no fields; give it one with "
            f"`deskterm type set {conversation.id} TYPE` (`deskterm type list` shows them)."
        )
    fields = fields_of_type(conversation.conversation_type_id)
    key = one_line(name).lower()
    for field in fields:
        if field.name == key:
            return field
    known = ", ".join(f.name for f in fields) or "none"
    raise ConfigError(
        f"#{conversation.id}'s type has no field {one_line(name)[:40]!r}; its fields: {known}."
    )
