"""Macros: a named list of actions an agent applies to a conversation in one key (`x` in the
desk, `deskterm macro apply`), or to several at once. This module keeps their definitions
and checks them; applying them is outbound/macros.py (a macro may queue a reply).

The actions, each at most once per macro, always applied in this order (ACTIONS):

- `tags`: "+word -word" as the `T` key takes it;
- `priority`: high, normal or low;
- `assign`: an agent's handle or address, `me` (whoever applies it), or "" for nobody;
- `template`: a reply template put in the composer when the macro is applied from a
  thread; applied to a list of conversations (marks, a script, a routing rule) it queues
  nothing: a reply goes out only when an agent has read it or the macro says `send`;
- `send`: a reply template queued as the reply (a "send" macro), on each conversation the
  macro is applied to; nothing about it can be undone, so it is its own action;
- `status`: open, pending, resolved or closed, last, so that a macro that answers and
  resolves leaves the conversation resolved.

and first, before those, the ticket's own:

- `type`: a conversation type (`deskterm type list`);
- `fields`: custom fields' values, `{ order = "A-1" }` as a routing rule's `fields` action
  takes them (or `order=A-1, region=EU` where typed, `parse_fields`), set after the type so
  a macro may type a conversation and fill that type's fields at once.

Those two are the routing rules' own actions (desk/rules/actions.py): checked and applied by
the one registry, so a macro and a rule can never set a type or a field differently.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable
from typing import Any

import peewee

from deskterm.desk import agents, templates
from deskterm.desk import status as lifecycle
from deskterm.desk import template_kinds as kinds
from deskterm.desk.rules import actions as rule_actions
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import PRIORITIES, Macro

ACTIONS = ("type", "fields", "tags", "priority", "assign", "template", "send", "status")
ActionValue = str | dict[str, str]
MAX_NAME = 100


def _check_type(value: Any) -> str:
    return str(rule_actions.ACTIONS["type"].check(value, "The type"))


def _check_fields(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = parse_fields(value)
    checked: dict[str, str] = rule_actions.ACTIONS["fields"].check(value, "The fields")
    return checked


def parse_fields(text: str) -> dict[str, str]:
    """Fields as typed: `order=A-1, region=EU`, or a TOML inline table (`{ note = "a, b" }`)
    for values that hold a comma, as a rule file writes them."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(
                "The fields are not a valid table; write order=A-1, region=EU, or "
                '{ order = "A-1" } for values that hold a comma.'
            ) from None
        return value if isinstance(value, dict) else {}
    return dict(field_pair(part) for part in text.split(",") if part.strip())


def field_pair(text: str) -> tuple[str, str]:
    """One `NAME=VALUE` (`deskterm macro add --field`, or one item of `parse_fields`)."""
    name, equals, value = text.strip().partition("=")
    if not equals or not name.strip():
        raise ConfigError(f"{one_line(text)[:40]!r} is not NAME=VALUE; write a field as order=A-1.")
    return name.strip(), value.strip()


def fields_text(values: dict[str, str]) -> str:
    """Fields as `parse_fields` reads them back (a TOML table where a value holds a comma)."""
    if any("," in v or "=" in v or '"' in v for v in values.values()):
        inner = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items())
        return "{ " + inner + " }"
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _check_tags(value: str) -> str:
    words = value.split()
    if not words:
        raise ConfigError("The tags action needs words, e.g. +urgent -billing.")
    for word in words:
        if not one_line(word.lstrip("+-")):
            raise ConfigError(f"{word!r} names no tag; write +tag to add or -tag to remove.")
    return " ".join(words)


def _check_priority(value: str) -> str:
    if value not in PRIORITIES:
        raise ConfigError(f"Priority {value!r} is not known; use {', '.join(PRIORITIES)}.")
    return value


def _check_assign(value: str) -> str:
    value = value.strip()
    if value.lower() in ("", "none", "nobody", "me"):
        return value.lower() if value.lower() == "me" else ""
    return agents.assignee(value) or ""  # an unknown agent: the sentence that lists them


def _check_template(value: str) -> str:
    row = templates.get(value)  # NotFound: the sentence that lists them
    if row.kind != kinds.REPLY:
        raise ConfigError(
            f"Template {value!r} is a {row.kind} template; a macro inserts or sends reply "
            "templates (`deskterm template list` shows each one's kind)."
        )
    return value


def _check_status(value: str) -> str:
    return lifecycle.checked(value)


CHECKS: dict[str, Callable[[Any], ActionValue]] = {
    "type": _check_type,
    "fields": _check_fields,
    "tags": _check_tags,
    "priority": _check_priority,
    "assign": _check_assign,
    "template": _check_template,
    "send": _check_template,
    "status": _check_status,
}


def checked(actions: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The actions as stored: each checked, in ACTIONS' order; one sentence on the first
    that is wrong."""
    found: dict[str, ActionValue] = {}
    for action, value in actions:
        if action not in CHECKS:
            raise ConfigError(f"A macro has no action {action!r}; use {', '.join(ACTIONS)}.")
        if action in found:
            raise ConfigError(f"The macro sets {action} twice; give it once.")
        found[action] = CHECKS[action](value)
    if not found:
        raise ConfigError.naming(
            "The macro does nothing; give it at least one action ({setting.status}, "
            "{setting.priority}, {setting.tags}, {setting.assign}, {setting.type}, "
            "{setting.fields}, {setting.template} or {setting.send})."
        )
    if "template" in found and "send" in found:
        raise ConfigError("A macro either inserts a template or sends one, not both.")
    return [{"action": a, "value": found[a]} for a in ACTIONS if a in found]


def check_name(name: str) -> None:
    if not name.strip():
        raise ConfigError("The macro needs a name.")
    if one_line(name) != name or len(name) > MAX_NAME:
        raise ConfigError(
            f"A macro name is one line of at most {MAX_NAME} characters, without spaces at "
            "either end."
        )


def save(name: str, actions: Iterable[tuple[str, Any]], *, renaming: str | None = None) -> Macro:
    """Add or replace the macro `name`; `renaming`: the macro it was called before (the
    desk's editor), which goes in the same transaction, so it is never both or neither."""
    check_name(name)
    stored = checked(actions)
    with database.atomic():
        if renaming is not None and renaming != name:
            get(renaming)  # NotFound before anything is written
            if Macro.select().where(Macro.name == name).exists():
                raise ConfigError(
                    f"There is already a macro named {name!r}; edit that one or pick another name."
                )
            Macro.delete().where(Macro.name == renaming).execute()
        row, created = Macro.get_or_create(name=name, defaults={"actions": stored})
        if not created:
            row.actions = stored
            row.save()
    return row


def get(name: str) -> Macro:
    try:
        return Macro.get(Macro.name == name)
    except peewee.DoesNotExist:
        raise NotFound(
            f"There is no macro named {name!r}; `deskterm macro list` shows them."
        ) from None


def remove(name: str) -> None:
    get(name).delete_instance()


def all_macros() -> list[Macro]:
    return list(Macro.select().order_by(Macro.name))


def actions_of(macro: Macro) -> list[tuple[str, Any]]:
    return [(a["action"], a["value"]) for a in macro.actions or []]


def sends(macro: Macro) -> bool:
    """Whether applying it queues a reply (a "send" macro)."""
    return any(action == "send" for action, _ in actions_of(macro))


def describe(macro: Macro) -> dict[str, object]:
    """A macro as `macro list|show --json` print it."""
    return {
        "name": macro.name,
        "actions": [{"action": a, "value": v} for a, v in actions_of(macro)],
        "sends": sends(macro),
    }


def summary(macro: Macro) -> str:
    """One line saying what it does: "tags +vip, priority high, status resolved"."""
    return one_line(", ".join(f"{a} {value_text(a, v)}" for a, v in actions_of(macro)))


def value_text(action: str, value: Any) -> str:
    """An action's stored value as words (`macro show`, the desk's editor): fields as
    `parse_fields` reads them, an empty assignee as "nobody"."""
    if action == "fields" and isinstance(value, dict):
        return one_line(fields_text(value))
    if action == "assign":
        return one_line(str(value)) or "nobody"
    return one_line(str(value))
