"""A report's numbers per agent, organization, channel and conversation type, in one pass
per kind of number (issue 17: a year at 100,000 conversations within a second).

New conversations, replies, resolved conversations and time spent are each one query grouped
by all four keys at once (`GROUP BY assignee, organization, channel, type`): the database
returns one row per combination that occurs (a few dozen on a real desk, never a row per
conversation), and each breakdown is the sum of its combinations here. Before, every
breakdown read the period's rows again: four breakdowns, four reads of each kind.

The agent of a conversation's numbers is its assignee now; of a reply, who wrote it
(`Message.agent`: replies from before deskterm recorded it count under no agent); of time
spent, who spent it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import peewee
from peewee import SQL

from deskterm.store.models import (
    Channel,
    Contact,
    Conversation,
    ConversationType,
    Message,
    Organization,
    TimeEntry,
)

# Breakdown section -> the name of its key in each row (report_rows.BREAKDOWNS).
SECTIONS = (
    ("by_agent", "agent"),
    ("by_organization", "organization"),
    ("by_channel", "channel"),
    ("by_type", "type"),
)
COUNTS = ("new", "replies", "resolved", "time_seconds")

Combos = dict[tuple[Any, Any, Any, Any], int]


def keys(agent: peewee.Node) -> list[peewee.Node]:
    """The four grouping keys, aliased; `agent` is the assignee, a reply's author or, for
    time, who spent it."""
    return [
        agent.alias("g_agent"),
        Contact.organization.alias("g_org"),
        Conversation.channel.alias("g_channel"),
        Conversation.conversation_type.alias("g_type"),
    ]


def grouped(query: peewee.SelectQuery, agent: peewee.Node) -> Combos:
    """`query` (selecting one count or sum, over rows joined to Conversation) grouped by the
    four keys; the contact is joined here for its organization."""
    rows = (
        query.join_from(
            Conversation, Contact, peewee.JOIN.LEFT_OUTER, on=(Conversation.contact == Contact.id)
        )
        .select_extend(*keys(agent))
        .group_by(SQL("g_agent"), SQL("g_org"), SQL("g_channel"), SQL("g_type"))
        .tuples()
    )
    return {(a, o, c, t): int(n or 0) for n, a, o, c, t in rows}


def breakdowns(
    new: peewee.SelectQuery,
    replies: peewee.SelectQuery,
    resolved: peewee.SelectQuery,
    spent: peewee.SelectQuery,
) -> dict[str, list[dict[str, Any]]]:
    """Every breakdown section from four grouped queries, each reports._Report's (with the
    period and filters) selecting only its count or sum, which is grouped here."""
    counted = {
        "new": grouped(new, Conversation.assignee),
        "replies": grouped(replies, Message.agent),
        "resolved": grouped(resolved, Conversation.assignee),
        "time_seconds": grouped(spent, TimeEntry.agent),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for position, (section, field) in enumerate(SECTIONS):
        per: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
        for metric, combos in counted.items():
            for combo, value in combos.items():
                per[combo[position]][metric] += value
        names = _names(field, per)
        rows = [{field: names.get(k, k), **values} for k, values in per.items()]
        out[section] = sorted(rows, key=lambda r, f=field: (r[f] is None, str(r[f] or "")))
    return out


def _names(field: str, keys: Iterable[Any]) -> dict[Any, str]:
    """Channels, organizations and types by name (ids are the desk's business); agents are
    stored by their handle already."""
    ids = [k for k in keys if k is not None]
    if not ids:
        return {}
    model, name = {
        "channel": (Channel, Channel.name),
        "organization": (Organization, Organization.name),
        "type": (ConversationType, ConversationType.name),
    }.get(field, (None, None))
    if model is None:
        return {}
    return dict(model.select(model.id, name).where(model.id.in_(ids)).tuples())
