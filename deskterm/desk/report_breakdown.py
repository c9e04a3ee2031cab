"""A report's numbers per agent, organization, channel and conversation type, in one pass
per kind of number (issue 17: a year at 100,000 conversations within a second).

What each conversation counts for (new in the period, resolved in it, its first response's
and resolution's SLA verdicts, kept by desk/report_outcomes.py) is one query grouped by all
four keys at once (`GROUP BY assignee, organization, channel, type`, with a conditional sum per
number: `counted`); replies and time spent one each. The database returns one row per
combination that occurs (a few dozen on a real desk, never a row per conversation), and each
breakdown is the sum of its combinations here: one sort of the year's conversations where
each number once took its own.

First-response and resolution times cannot be summed from combinations (a median of medians
is not the median): reports.py ranks the durations per key and in total in one call
(report_sql.ranked, store/percentiles.py) and hands them in, with the SLA targets that fell
due unreached per combination (report_sla.attainment).

The agent of a conversation's numbers is its assignee now; of a reply, who wrote it
(`Message.agent`: replies from before deskterm recorded it count under no agent); of time
spent, who spent it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import peewee
from peewee import SQL, fn

from deskterm.desk import report_sql as rsql
from deskterm.store.models import (
    Agent,
    Channel,
    ConversationType,
    Organization,
    Outcome,
)

# Breakdown section -> the name of its key in each row (report_rows.BREAKDOWNS).
SECTIONS = (
    ("by_agent", "agent"),
    ("by_organization", "organization"),
    ("by_channel", "channel"),
    ("by_type", "type"),
)
COUNTS = ("new", "replies", "resolved", "time_seconds")
# The columns each key is selected as, in SECTIONS' order (report_sql.ranked partitions by them).
GROUPS = ("g_agent", "g_org", "g_channel", "g_type")
# The same keys as each conversation's kept outcome holds them (desk/report_outcomes.py).
KEPT = dict(
    zip(
        GROUPS,
        (Outcome.assignee, Outcome.organization, Outcome.channel, Outcome.conversation_type),
        strict=True,
    )
)
# The order they are grouped in: the organization first, which no index leads with, so SQLite
# reads the rows in table order and sorts them once, instead of walking them in an assignee
# index's order, a table lookup per row, and sorting them anyway (a third of the conversations'
# grouped read at 100,000, when it read the conversation table).
GROUP_BY = tuple(SQL(g) for g in ("g_org", "g_agent", "g_channel", "g_type"))
TIMES = (
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "resolution_median_seconds",
    "resolution_p90_seconds",
)
SLA = (
    "sla_first_response_met",
    "sla_first_response_breached",
    "sla_resolution_met",
    "sla_resolution_breached",
)
# Every number of a breakdown row, in the order the CSV and the screen's numbers list them.
METRICS = (*COUNTS, *TIMES, *SLA, "sla_attainment_pct")

Combos = dict[tuple[Any, Any, Any, Any], int]

NO_AGENTS = (
    "No agents on this desk: the per-agent numbers need them "
    "(`deskterm agent add EMAIL --name NAME`)."
)


def agents_section() -> dict[str, Any]:
    """Whether the per-agent breakdown means anything, shaped as the SLA section says so
    (report_sla.NO_SLA): on a desk without agents every conversation is unassigned and the
    breakdown is one "(no agent)" row, which reads as a count, not as the missing setup."""
    if Agent.select().exists():
        return {"available": True}
    return {"available": False, "note": NO_AGENTS}


def keys(agent: peewee.Node = Outcome.assignee) -> list[peewee.Node]:
    """The four grouping keys as the conversations' kept outcomes hold them, aliased;
    `agent` is the assignee, a reply's author or, for time, who spent it."""
    columns = (agent, *list(KEPT.values())[1:])
    return [column.alias(name) for column, name in zip(columns, GROUPS, strict=True)]


def grouped(query: peewee.SelectQuery, agent: peewee.Node) -> Combos:
    """`query` (selecting one count or sum, over rows joined to their conversations' kept
    outcomes) grouped by the four keys."""
    rows = query.select_extend(*keys(agent)).group_by(*GROUP_BY).tuples()
    return {(a, o, c, t): int(n or 0) for n, a, o, c, t in rows}


def counted(outcomes: peewee.SelectQuery, sums: dict[str, peewee.Node]) -> dict[str, Combos]:
    """Several counts over the same conversations' kept outcomes (which hold the four keys)
    in one grouped read: each of `sums` is 1 or 0 per conversation (a CASE), summed per
    combination of the keys. One sort of the conversations instead of one per number."""
    keys = [column.alias(name) for name, column in KEPT.items()]
    query = outcomes.select(*(fn.SUM(e) for e in sums.values()), *keys).group_by(*GROUP_BY).tuples()
    out: dict[str, Combos] = {name: {} for name in sums}
    for row in query:
        key = tuple(row[len(sums) :])
        for name, value in zip(sums, row[: len(sums)], strict=True):
            if value:
                out[name][key] = int(value)  # type: ignore[index]
    return out


def breakdowns(
    counted: dict[str, Combos], times: dict[str, rsql.Ranks]
) -> dict[str, list[dict[str, Any]]]:
    """Every breakdown section from the numbers per combination of the four keys (`counted`:
    reports._Report.breakdowns's, named as in COUNTS and SLA), summed here per key; `times`
    are the first-response and resolution times ranked per key (report_sql.ranked over
    GROUPS, as the totals are)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for position, (section, field) in enumerate(SECTIONS):
        per: dict[Any, dict[str, Any]] = defaultdict(lambda: _empty())
        for metric, combos in counted.items():
            for combo, value in combos.items():
                per[combo[position]][metric] += value
        for target, ranks in times.items():
            for text, (_count, at) in ranks[GROUPS[position]].items():
                row = per[_key(field, text)]
                row[f"{target}_median_seconds"], row[f"{target}_p90_seconds"] = at[50], at[90]
        for values in per.values():
            met = values["sla_first_response_met"] + values["sla_resolution_met"]
            due = met + values["sla_first_response_breached"] + values["sla_resolution_breached"]
            values["sla_attainment_pct"] = round(100 * met / due, 1) if due else None
        names = _names(field, per)
        rows = [{field: names.get(k, k), **values} for k, values in per.items()]
        out[section] = sorted(rows, key=lambda r, f=field: (r[f] is None, str(r[f] or "")))
    return out


def _empty() -> dict[str, Any]:
    """A row before any number: counts 0, times and attainment None (nothing to rank)."""
    return {m: 0 if m in COUNTS or m in SLA else None for m in METRICS}


def _key(field: str, text: str | None) -> Any:
    """A key as report_sql.ranked gives it (text) as the grouped counts have it: agents are
    handles, the others ids."""
    return text if text is None or field == "agent" else int(text)


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
