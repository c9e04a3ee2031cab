"""What a report covers: its period, its buckets (days or weeks) and its filters, checked
once, and the conditions on conversations the filters make. desk/reports.py computes over it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import peewee
from peewee import fn

from deskterm.desk import agents
from deskterm.desk.report_sql import STEPS
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import utcnow
from deskterm.store.models import Channel, Contact, Conversation, Organization, Outcome

DEFAULT_DAYS = 30
DAILY_UP_TO = 62  # days: a longer period is drawn per week
MAX_DAYS = 3660


@dataclass(frozen=True)
class Scope:
    """What a report covers: `since` to `until` (whole UTC days, both included), in buckets
    of a day or a week, narrowed by a channel's name, an agent's handle, an organization's
    name."""

    since: date
    until: date
    step: str
    channel: str | None = None
    agent: str | None = None
    org: str | None = None


def scope(
    since: date | None = None,
    until: date | None = None,
    *,
    step: str | None = None,
    channel: str | None = None,
    agent: str | None = None,
    org: str | None = None,
    today: date | None = None,
) -> Scope:
    """A checked scope: `until` defaults to today, `since` to 30 days before it, `step` to
    days for up to two months and weeks beyond; the agent is resolved to a handle."""
    until = until or today or utcnow().date()
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise ConfigError("The report's start is after its end; give --since before --until.")
    if (until - since).days >= MAX_DAYS:
        raise ConfigError("A report covers at most ten years; give a later --since.")
    if step is None:
        step = "day" if (until - since).days < DAILY_UP_TO else "week"
    if step not in STEPS:
        raise ConfigError(f"Step {step!r} is not known; use {' or '.join(STEPS)}.")
    handle = agents.assignee(agent) if agent else None
    return Scope(since, until, step, channel or None, handle, org or None)


def buckets(sc: Scope) -> list[str]:
    """The keys of the period's buckets, as report_sql.bucket writes them."""
    first = sc.since if sc.step == "day" else sc.since - timedelta(days=sc.since.weekday())
    size = timedelta(days=1 if sc.step == "day" else 7)
    keys, day = [], first
    while day <= sc.until:
        keys.append(day.isoformat())
        day += size
    return keys


def conditions(sc: Scope) -> list[peewee.Expression]:
    """The conditions on Conversation that the scope's filters make (names checked here, so
    a typo is a sentence, not an empty report)."""
    return _filtering(
        sc,
        Conversation.channel,
        Conversation.assignee,
        lambda org: Conversation.contact.in_(
            Contact.select(Contact.id).where(Contact.organization == org)
        ),
    )


def kept_conditions(sc: Scope) -> list[peewee.Expression]:
    """The same conditions on the conversations' kept outcomes (desk/report_outcomes.py),
    which keep what a report filters by."""
    return _filtering(
        sc, Outcome.channel, Outcome.assignee, lambda org: Outcome.organization == org
    )


def _filtering(
    sc: Scope,
    channel_column: peewee.Node,
    assignee_column: peewee.Node,
    of_organization: Callable[[int], peewee.Expression],
) -> list[peewee.Expression]:
    channel, org = _named(sc)
    where: list[peewee.Expression] = []
    if channel is not None:
        where.append(channel_column == channel)
    if sc.agent:
        where.append(assignee_column == sc.agent)
    if org is not None:
        where.append(of_organization(org))
    return where


def _named(sc: Scope) -> tuple[int | None, int | None]:
    """The ids of the channel and organization the scope names, each checked."""
    channel = org = None
    if sc.channel:
        found = Channel.get_or_none(Channel.name == sc.channel)
        if found is None:
            raise NotFound(
                f"No channel is called {one_line(sc.channel)!r}; `deskterm channel list` "
                "shows them."
            )
        channel = found.id
    if sc.org:
        named = Organization.get_or_none(fn.LOWER(Organization.name) == sc.org.lower())
        if named is None:
            raise NotFound(
                f"No organization is called {one_line(sc.org)!r}; `deskterm org list` shows them."
            )
        org = named.id
    return channel, org
