"""Reply templates (canned responses) with `$variable` placeholders.

`string.Template` semantics: `$name` or `${name}`, `$$` for a dollar. Unknown variables are
refused when the template is saved, so a reply never goes out with a silent blank.
"""

from __future__ import annotations

import string
from typing import Any

import peewee

from deskterm.desk import agents
from deskterm.errors import ConfigError, NotFound
from deskterm.mail import compose
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import Contact, Conversation, Template

VARIABLES = {
    "contact_name": "the customer's name (or address when no name is known)",
    "contact_email": "the customer's address",
    "conversation_id": "the conversation number",
    "subject": "the conversation's subject",
    "agent_name": "the replying agent's name (DESKTERM_AGENT, or the login name)",
    "channel_name": "the channel's name",
}


def check(body: str) -> None:
    if not body.strip():
        raise ConfigError("The template is empty.")
    template = string.Template(body)
    if not template.is_valid():
        raise ConfigError(
            "The template has a stray $; write $$ for a dollar sign, or $name for a variable."
        )
    unknown = sorted(set(template.get_identifiers()) - set(VARIABLES))
    if unknown:
        raise ConfigError(
            f"Unknown template variable {', '.join('$' + u for u in unknown)}; "
            f"use {', '.join('$' + v for v in VARIABLES)}."
        )


def check_name(name: str) -> None:
    if not name.strip():
        raise ConfigError("The template needs a name.")
    if one_line(name) != name:
        raise ConfigError("A template name is one line of text, without spaces at either end.")


def save(name: str, body: str, *, renaming: str | None = None) -> Template:
    """Add or replace the template `name`; with `renaming`, that one becomes `name`.

    A rename never overwrites another template, and is one transaction: the template is
    never left under both names, nor under none.
    """
    check_name(name)
    check(body)
    with database.atomic():
        if renaming is not None and renaming != name:
            if Template.select().where(Template.name == name).exists():
                raise ConfigError(
                    f"There is already a template named {name!r}; edit that one or pick "
                    "another name."
                )
            get(renaming).delete_instance()
        row, created = Template.get_or_create(name=name, defaults={"body": body})
        if not created:
            row.body = body
            row.save()
    return row


def get(name: str) -> Template:
    try:
        return Template.get(Template.name == name)
    except peewee.DoesNotExist:
        raise NotFound(
            f"There is no template named {name!r}; `deskterm template list` shows them."
        ) from None


def remove(name: str) -> None:
    get(name).delete_instance()


def all_templates() -> list[Template]:
    return list(Template.select().order_by(Template.name))


def render(body: str, values: dict[str, Any]) -> str:
    return string.Template(body).substitute({k: str(values.get(k, "")) for k in VARIABLES})


def fill(name: str, conversation: Conversation, agent: str | None = None) -> str:
    """The template `name` with its variables filled for a reply to this conversation, signed
    by `agent` (the replying agent when not given)."""
    return render(get(name).body, _values(conversation, agent))


def _values(conversation: Conversation, agent: str | None) -> dict[str, Any]:
    """What each of VARIABLES stands for in a reply to this conversation."""
    contact: Contact | None = conversation.contact
    return {
        "contact_name": (contact.name or contact.email) if contact else "",
        "contact_email": contact.email if contact else "",
        "conversation_id": conversation.id,
        "subject": compose.base_subject(conversation.subject),
        "agent_name": agent or agents.display_name(),
        "channel_name": conversation.channel.name,
    }
