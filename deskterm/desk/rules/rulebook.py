"""The desk's routing rules as stored: one ordered list, each rule for one channel or all.

Positions run 1..N without gaps (rewritten on every add, move and remove, in one
transaction), so `rule list` numbers are what `rule move NAME N` takes.
"""

from __future__ import annotations

from typing import Any

import peewee

from deskterm.channels import registry as channels
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import Channel, RoutingRule


def add(rule: dict[str, Any]) -> RoutingRule:
    """Store a checked rule (rulefile.validate) last in the order."""
    if RoutingRule.select().where(RoutingRule.name == rule["name"]).exists():
        raise ConfigError(
            f"There is a rule named {rule['name']!r} already; replace it with "
            f"`deskterm rule edit {rule['name']} --file F` or choose another name."
        )
    with database.atomic():
        last = RoutingRule.select(peewee.fn.MAX(RoutingRule.position)).scalar() or 0
        return RoutingRule.create(position=last + 1, **_columns(rule))


def edit(name: str, rule: dict[str, Any]) -> RoutingRule:
    """Replace a rule's conditions and actions; it keeps its place and its round-robin turn."""
    row = get(name)
    if (
        rule["name"] != row.name
        and RoutingRule.select().where(RoutingRule.name == rule["name"]).exists()
    ):
        raise ConfigError(f"There is a rule named {rule['name']!r} already; choose another name.")
    for column, value in _columns(rule).items():
        setattr(row, column, value)
    row.updated_at = utcnow()
    row.save()
    return row


def _columns(rule: dict[str, Any]) -> dict[str, Any]:
    channel = channels.get(rule["channel"]).id if rule["channel"] else None
    return {
        "name": rule["name"],
        "channel": channel,
        "replies": rule["replies"],
        "stop": rule["stop"],
        "match": rule["match"],
        "conditions": rule["conditions"],
        "actions": rule["actions"],
    }


def get(name: str) -> RoutingRule:
    row = RoutingRule.get_or_none(RoutingRule.name == name)
    if row is None:
        raise NotFound(
            f"There is no rule named {one_line(name)!r}; `deskterm rule list` shows the rules."
        )
    return row


def all_rules() -> list[RoutingRule]:
    return list(RoutingRule.select().order_by(RoutingRule.position, RoutingRule.id))


def for_channel(channel_id: int) -> list[RoutingRule]:
    """The rules that apply to a channel's mail, in order: its own and the desk-wide ones."""
    query = RoutingRule.select().where(
        RoutingRule.channel.is_null() | (RoutingRule.channel == channel_id)
    )
    return list(query.order_by(RoutingRule.position, RoutingRule.id))


def names() -> list[str]:
    query = RoutingRule.select(RoutingRule.name).order_by(RoutingRule.position)
    return [name for (name,) in query.tuples()]


def move(name: str, position: int) -> int:
    """Put a rule at `position` (1 = asked first; past the end: last); returns where it is."""
    row = get(name)
    with database.atomic():
        rest = [r for r in all_rules() if r.id != row.id]
        place = min(max(position, 1), len(rest) + 1)
        rest.insert(place - 1, row)
        _renumber(rest)
    return place


def remove(name: str) -> None:
    """Remove a rule; the messages it routed keep their "Routed by rule ..." line."""
    row = get(name)
    with database.atomic():
        row.delete_instance()
        _renumber(all_rules())


def _renumber(rows: list[RoutingRule]) -> None:
    for position, row in enumerate(rows, 1):
        if row.position != position:
            RoutingRule.update(position=position).where(RoutingRule.id == row.id).execute()
            row.position = position


def describe(row: RoutingRule) -> dict[str, Any]:
    """A rule as `rule list|show --json` print it: the rule file's keys, and its place."""
    channel = Channel.get_by_id(row.channel_id).name if row.channel_id is not None else None
    return {
        "name": row.name,
        "position": row.position,
        "channel": channel,
        "replies": bool(row.replies),
        "stop": bool(row.stop),
        "match": row.match,
        "when": (row.conditions or {}).get("when", {}),
        "unless": (row.conditions or {}).get("unless", {}),
        "then": row.actions or {},
        "turn": row.turn,
        "updated_at": iso(row.updated_at),
    }


def scope_words(row: dict[str, Any]) -> str:
    """Where a described rule applies, in words (`rule list`, the desk's rules screen)."""
    where = one_line(row["channel"] or "every channel")
    return where + (", replies too" if row["replies"] else "")


def actions_words(actions: dict[str, Any]) -> str:
    """A rule's actions in one line: "priority high; tags billing, vip"."""
    return "; ".join(f"{key} {_value_words(value)}" for key, value in actions.items())


def _value_words(value: Any) -> str:
    """An action's stored value as words: a list joined, a table (fields) as `name=value`."""
    if isinstance(value, dict):
        return ", ".join(f"{one_line(str(k))}={one_line(str(v))}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(one_line(str(v)) for v in value)
    return one_line(str(value))
