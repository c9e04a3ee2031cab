"""SLA policies: which response targets apply to a conversation, and the calendar they count in.

A policy names the conversations it covers by priority, channel and (once conversation types
exist) type, each None for "any"; of the policies that match, the most specific applies: the
one naming the most of the three, and between equals a type before a channel before a
priority. Two policies covering exactly the same conversations are refused, so the choice is
never arbitrary. Adding or removing a policy goes through deskterm.desk.sla (`add_policy`,
`remove_policy`), which sets every conversation's clock again in the same transaction, so
the list's due times always follow the policies in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from deskterm.channels import registry as channels
from deskterm.desk.sla_calendar import (
    Calendar,
    format_hours,
    format_minutes,
    parse_holiday,
    parse_hours,
    parse_minutes,
    zone_name,
)
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database, iso
from deskterm.store.models import PRIORITIES, Channel, ConversationType, SlaPolicy

TARGETS = ("first_response", "resolution")
MAX_NAME = 64


@dataclass(frozen=True)
class Terms:
    """What `add` takes, as an admin wrote it (the CLI's options, a script's values)."""

    priority: str | None = None
    channel: str | None = None
    conversation_type: str | None = None
    first_response: str | None = None  # "1h", "90m"
    resolution: str | None = None
    hours: str = "24/7"  # parse_hours
    timezone: str = "UTC"
    holidays: tuple[str, ...] = ()
    pause_when_pending: bool = True
    warn_before: str | None = "30m"  # None or "0": no warning, only the breach notice


def create(name: str, terms: Terms) -> SlaPolicy:
    """Write a policy, checked whole first (sla.add_policy sets the clocks after it)."""
    name = _name(name)
    if terms.priority is not None and terms.priority not in PRIORITIES:
        raise ConfigError(f"Priority {terms.priority!r} is not known; use {', '.join(PRIORITIES)}.")
    channel = channels.get(terms.channel) if terms.channel else None
    first = parse_minutes(terms.first_response) if terms.first_response else None
    resolution = parse_minutes(terms.resolution) if terms.resolution else None
    if first is None and resolution is None:
        raise ConfigError.naming(
            "A policy needs a target; give {setting.first_response}, {setting.resolution} "
            "or both (e.g. 4h)."
        )
    warn = 0 if terms.warn_before in (None, "", "0") else parse_minutes(terms.warn_before or "")
    week = parse_hours(terms.hours)
    holidays = sorted({parse_holiday(day).isoformat() for day in terms.holidays})
    kind = one_line(terms.conversation_type or "") or None
    if kind is not None:  # the model, not desk/types: types -> queries -> sla -> here
        found = ConversationType.get_or_none(ConversationType.name == kind.lower())
        if found is None:
            raise ConfigError(
                f"There is no type {kind[:40]!r}; `deskterm type list` shows the types."
            )
        kind = found.name
    with database.atomic():
        if SlaPolicy.select().where(SlaPolicy.name == name).exists():
            raise ConfigError(
                f"There is already a policy named {name!r}; remove it first "
                f"(`deskterm sla remove {name}`) or pick another name."
            )
        for other in SlaPolicy.select():
            if (other.priority, other.channel_id, other.conversation_type) == (
                terms.priority,
                channel.id if channel else None,
                kind,
            ):
                raise ConfigError(
                    f"Policy {other.name!r} already covers the same conversations; remove it "
                    f"first (`deskterm sla remove {other.name}`) or narrow this one."
                )
        policy = SlaPolicy.create(
            name=name,
            priority=terms.priority,
            channel=channel,
            conversation_type=kind,
            first_response_minutes=first,
            resolution_minutes=resolution,
            hours=None if week is None else [list(map(list, spans)) for spans in week],
            timezone=zone_name(terms.timezone.strip() or "UTC"),
            holidays=holidays,
            pause_when_pending=terms.pause_when_pending,
            warn_minutes=warn,
        )
    return policy


def get(name: str) -> SlaPolicy:
    found = SlaPolicy.get_or_none(SlaPolicy.name == name)
    if found is None:
        raise NotFound(f"There is no SLA policy named {name!r}; `deskterm sla list` shows them.")
    return found


def all_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.select().order_by(SlaPolicy.name))


def any_defined() -> bool:
    """Whether the desk has SLA policies at all (the list then shows its due column)."""
    return SlaPolicy.select().exists()


def calendar_of(policy: SlaPolicy) -> Calendar:
    week = None
    if policy.hours is not None:
        week = tuple(tuple((int(s), int(e)) for s, e in spans) for spans in policy.hours)
    holidays = frozenset(date.fromisoformat(day) for day in policy.holidays or [])
    return Calendar(policy.timezone, week, holidays)


def matching(
    policies: list[SlaPolicy], priority: str, channel_id: int, conversation_type: str | None
) -> SlaPolicy | None:
    """The policy that applies to a conversation of this priority, channel and type."""
    best: SlaPolicy | None = None
    best_rank: tuple[int, ...] = ()
    for policy in policies:
        if policy.priority is not None and policy.priority != priority:
            continue
        if policy.channel_id is not None and policy.channel_id != channel_id:
            continue
        if policy.conversation_type is not None and policy.conversation_type != conversation_type:
            continue
        named = (
            policy.conversation_type is not None,
            policy.channel_id is not None,
            policy.priority is not None,
        )
        rank = (sum(named), *named)
        if best is None or rank > best_rank:
            best, best_rank = policy, rank
    return best


def describe(policy: SlaPolicy) -> dict[str, Any]:
    """A policy as `sla list|show --json` give it."""
    channel: Channel | None = policy.channel if policy.channel_id is not None else None
    return {
        "name": policy.name,
        "priority": policy.priority,
        "channel": channel.name if channel else None,
        "type": policy.conversation_type,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "hours": format_hours(calendar_of(policy).week),
        "timezone": policy.timezone,
        "holidays": list(policy.holidays or []),
        "pause_when_pending": bool(policy.pause_when_pending),
        "warn_minutes": policy.warn_minutes,
        "created_at": iso(policy.created_at),
    }


def summary(policy: SlaPolicy) -> str:
    """One line for `sla list`."""
    item = describe(policy)
    covers = ", ".join(f"{key} {item[key]}" for key in ("priority", "channel", "type") if item[key])
    return (
        f"{item['name']}: {covers or 'every conversation'}; first response "
        f"{format_minutes(item['first_response_minutes'])}, resolution "
        f"{format_minutes(item['resolution_minutes'])}; {item['hours']} {item['timezone']}"
    )


def _name(value: str) -> str:
    name = one_line(value)
    if not name or name != value.strip() or len(name) > MAX_NAME or " " in name:
        raise ConfigError(
            f"A policy name is one word of at most {MAX_NAME} characters (e.g. urgent)."
        )
    return name
