"""A computed report (desk/reports.py) as rows of numbers: `deskterm report --csv` writes
them, the CLI's text and the Reports screen's numbers view show them. One flattening, so the
CSV, the text and the screen name every number the same way.

`table` is a breakdown as the CLI's text and the Reports screen show it: one table, so both
read the same at 80 columns.

A row is (section, key, metric, value): a series gives one row per bucket
("new", "2024-03-04", "count", 3), a summary one per figure ("first_response", "",
"median_seconds", 7200), a breakdown one per name and figure ("by_agent", "sam", "replies", 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deskterm.desk.report_breakdown import METRICS, SECTIONS
from deskterm.desk.report_sla import TARGETS as SLA_TARGETS
from deskterm.desk.time_spent import format_duration
from deskterm.sanitize import fit_cells, one_line

Row = tuple[str, str, str, Any]

SERIES = (
    ("new", "series", "count"),
    ("replies", "series", "count"),
    ("resolution", "series", "resolved"),
    ("backlog", "open", "open"),
    ("backlog", "pending", "pending"),
    ("backlog", "series", "open_or_pending"),
    ("time_spent", "series", "seconds"),
)
FIGURES = {
    "new": ("total",),
    "replies": ("total",),
    "first_response": ("answered", "unanswered", "median_seconds", "p90_seconds"),
    "resolution": ("resolved", "median_seconds", "p90_seconds"),
    "skipped": ("total",),
    "time_spent": ("total_seconds",),
}
BREAKDOWNS = SECTIONS
# A breakdown that needs what the desk may lack, and the section saying whether it has it.
NEEDS = {"by_agent": "agents"}
# The row of no agent: unassigned conversations, and replies whose author is unknown.
NOBODY = {"agent": "(no agent)", "organization": "(none)", "channel": "(none)", "type": "(none)"}


def rows(report: dict[str, Any]) -> Iterator[Row]:
    """Every number of the report, in the order the screen and the CSV list them."""
    for section, names in FIGURES.items():
        for name in names:
            yield section, "", name, report[section][name]
    for section, series, metric in SERIES:
        for key, value in zip(report["buckets"], report[section][series], strict=True):
            yield section, key, metric, value
    for reason, count in report["skipped"]["by_reason"].items():
        yield "skipped", reason, "count", count
    for section, field in BREAKDOWNS:
        for entry in report[section]:
            name = entry[field] if entry[field] is not None else NOBODY[field]
            for metric in METRICS:
                yield section, str(name), metric, entry[metric]
    if not report["agents"]["available"]:
        yield "agents", "", "note", report["agents"]["note"]
    sla = report["sla"]
    if not sla["available"]:
        yield "sla", "", "note", sla["note"]
        return
    for target in SLA_TARGETS:
        for name in ("met", "breached", "attainment_pct"):
            yield "sla", target, name, sla[target][name]
    for target in SLA_TARGETS:
        for series, metric in (("met_series", "met"), ("breached_series", "breached")):
            for key, value in zip(report["buckets"], sla[target][series], strict=True):
                yield f"sla_{target}", key, metric, value


# The breakdown table's columns after the name: heading, width, the number shown.
COLUMNS = (
    ("new", 5, "new"),
    ("replies", 8, "replies"),
    ("resolved", 9, "resolved"),
    ("time", 9, "time_seconds"),
    ("1st resp", 9, "first_response_median_seconds"),
    ("resolve", 9, "resolution_median_seconds"),
    ("SLA %", 7, "sla_attainment_pct"),
)
NAME_WIDTH = 16


def table(report: dict[str, Any], section: str) -> list[str]:
    """A breakdown section as lines of text, 74 columns wide (an 80-column terminal or the
        screen, with room for its padding): new, replies, resolved, time spent, the median first
        response and resolution (the 90th percentiles are in the rows and the JSON), and the SLA
        attainment over both targets. Names are made one line (they come from mail) and fit
    their column in terminal cells: a CJK name is twice as wide as its characters."""
    field = dict(BREAKDOWNS)[section]
    lines = [
        f"{'Per ' + field:<{NAME_WIDTH + 2}}"
        + "".join(f"{heading:>{width}}" for heading, width, _metric in COLUMNS)
    ]
    for entry in report[section]:
        name = one_line(str(entry[field])) if entry[field] is not None else NOBODY[field]
        cells = "".join(f"{_cell(metric, entry[metric]):>{width}}" for _h, width, metric in COLUMNS)
        lines.append(f"  {fit_cells(name, NAME_WIDTH)}{cells}")
    return lines


def note(report: dict[str, Any], section: str) -> str | None:
    """What a breakdown lacks to mean anything (the desk has no agents), shown under its
    table by the CLI's text and the Reports screen; None when it has what it needs."""
    needed = NEEDS.get(section)
    if needed is None or report[needed]["available"]:
        return None
    return str(report[needed]["note"])


def _cell(metric: str, value: Any) -> str:
    if value is None or (metric == "time_seconds" and not value):
        return "-"
    if metric.endswith("seconds"):
        return format_duration(value)
    if metric.endswith("pct"):
        return f"{value}%"
    return str(value)
