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

Ticket types and custom fields (issue 16) join as two more actions, `type` and `field:<name>`,
each with its check here and its one applying function in outbound/macros.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import peewee

from deskterm.desk import agents, templates
from deskterm.desk import status as lifecycle
from deskterm.desk import template_kinds as kinds
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import PRIORITIES, Macro

ACTIONS = ("tags", "priority", "assign", "template", "send", "status")
MAX_NAME = 100


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


CHECKS: dict[str, Callable[[str], str]] = {
    "tags": _check_tags,
    "priority": _check_priority,
    "assign": _check_assign,
    "template": _check_template,
    "send": _check_template,
    "status": _check_status,
}


def checked(actions: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The actions as stored: each checked, in ACTIONS' order; one sentence on the first
    that is wrong."""
    found: dict[str, str] = {}
    for action, value in actions:
        if action not in CHECKS:
            raise ConfigError(f"A macro has no action {action!r}; use {', '.join(ACTIONS)}.")
        if action in found:
            raise ConfigError(f"The macro sets {action} twice; give it once.")
        found[action] = CHECKS[action](value)
    if not found:
        raise ConfigError(
            "The macro does nothing; give it at least one action "
            "(--status, --priority, --tags, --assign, --template or --send)."
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


def save(name: str, actions: Iterable[tuple[str, str]]) -> Macro:
    """Add or replace the macro `name`."""
    check_name(name)
    stored = checked(actions)
    with database.atomic():
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


def actions_of(macro: Macro) -> list[tuple[str, str]]:
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
    parts = []
    for action, value in actions_of(macro):
        if action == "assign":
            value = value or "nobody"
        parts.append(f"{action} {value}")
    return one_line(", ".join(parts))
