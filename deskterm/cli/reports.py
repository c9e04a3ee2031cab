"""`deskterm report` and `deskterm time ...`: the desk's numbers over a period, and the time
agents spent on conversations, for admins and scripts (`--json`, `--csv`). The numbers are
desk/reports.py's, the same the Reports screen draws.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime
from typing import Any

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, open_existing_desk, say
from deskterm.sanitize import one_line

BARS = "▁▂▃▄▅▆▇█"
LINE = 80  # the text report fits a standard terminal (and a mail) whatever the period
LABEL = 20 + 9 + 2  # a sparkline row's name, total and gap before the bars


def resample(values: list[int], width: int) -> tuple[list[int], int]:
    """At most `width` values for a series too long to draw (a year by day is 365), and how
    many buckets each stands for (1: unchanged).

    Each value is the highest of its run of consecutive buckets: a one-day spike stays as
    tall as it was, where an average would flatten it into its neighbours, and the backlog,
    a level rather than a count, still reads as one (a sum would multiply it). The last run
    may be shorter."""
    if len(values) <= width:
        return values, 1
    size = -(-len(values) // width)
    return [max(values[i : i + size]) for i in range(0, len(values), size)], size


def sparkline(values: list[int]) -> str:
    """A series as one line of block characters (readable without colour); `resample` first
    what may be longer than the line."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, v * (len(BARS) - 1) // top)] for v in values)


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"{one_line(value)!r} is not a day; write it as 2024-03-31."
        ) from None


@click.command("report")
@click.option(
    "--since", callback=_day, metavar="YYYY-MM-DD", help="First day (default: 30 days ago)."
)
@click.option("--until", callback=_day, metavar="YYYY-MM-DD", help="Last day (default: today).")
@click.option(
    "--by", "step", type=click.Choice(["day", "week"]), help="Buckets (default: by length)."
)
@click.option("--channel", help="Only this channel's conversations and mail.")
@click.option(
    "--agent", help="Only conversations assigned to this agent (a handle or me), and their time."
)
@click.option("--org", help="Only this organization's conversations.")
@click.option(
    "--csv", "as_csv", is_flag=True, help="Every number as CSV: section,key,metric,value."
)
@json_option
@handle_errors
def report(
    since: date | None,
    until: date | None,
    step: str | None,
    channel: str | None,
    agent: str | None,
    org: str | None,
    as_csv: bool,
    as_json: bool,
) -> None:
    """The desk's numbers over a period (UTC days): new conversations, replies, first-response
    and resolution times (median and 90th percentile), SLA attainment and breaches, backlog,
    skipped mail, time spent, per agent, organization, channel and type."""
    from deskterm.desk import report_rows, report_scope, reports

    open_existing_desk()
    sc = report_scope.scope(since, until, step=step, channel=channel, agent=agent, org=org)
    data = reports.compute(sc)
    if as_json:
        echo_json(data)
    elif as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(("section", "key", "metric", "value"))
        for section, key, metric, value in report_rows.rows(data):
            out.writerow((section, one_line(key), metric, "" if value is None else value))
    else:
        _print(data)


def _print(data: dict[str, Any]) -> None:
    from deskterm.desk import report_rows, report_sla
    from deskterm.desk.time_spent import format_duration as spent

    def span(seconds: int | None) -> str:
        return "-" if seconds is None else spent(seconds)

    period = data["period"]
    narrowed = [f"{k} {one_line(str(period[k]))}" for k in ("channel", "agent", "org") if period[k]]
    _, size = resample(data["new"]["series"], LINE - LABEL)  # every series has the buckets
    say(
        f"{period['since']} to {period['until']}, per {period['step']} (UTC)"
        + (f"; a bar is the highest {period['step']} of {size}" if size > 1 else "")
        + (f"; {', '.join(narrowed)}" if narrowed else "")
    )
    first, done, back = data["first_response"], data["resolution"], data["backlog"]
    lines = [
        ("New conversations", str(data["new"]["total"]), data["new"]["series"]),
        ("Replies sent", str(data["replies"]["total"]), data["replies"]["series"]),
        ("Resolved", str(done["resolved"]), done["series"]),
        ("Backlog at the end", str(back["series"][-1] if back["series"] else 0), back["series"]),
        ("Time spent", spent(data["time_spent"]["total_seconds"]), data["time_spent"]["series"]),
    ]
    for label, total, series in lines:
        say(f"{label:<20}{total:>9}  {sparkline(resample(series, LINE - LABEL)[0])}")
    labelled(
        "First response",
        f"median {span(first['median_seconds'])}, 90% within {span(first['p90_seconds'])} "
        f"({first['answered']} answered, {first['unanswered']} not)",
    )
    labelled(
        "Resolution",
        f"median {span(done['median_seconds'])}, 90% within {span(done['p90_seconds'])}",
    )
    labelled("", f"Times are {first['hours']}.")
    labelled("SLA", report_sla.summary(data["sla"]))
    reasons = ", ".join(f"{one_line(k)} {n}" for k, n in data["skipped"]["by_reason"].items())
    labelled("Skipped mail", f"{data['skipped']['total']}" + (f": {reasons}" if reasons else ""))
    for section, _field in report_rows.BREAKDOWNS:
        say()
        for line in report_rows.table(data, section):
            say(line)
        if lacking := report_rows.note(data, section):
            labelled("", lacking)


def labelled(label: str, text: str) -> None:
    """A line of the text report with its label, wrapped within LINE under the label's
    column (a long SLA summary or a desk's many skip reasons); at spaces only, so a skip
    reason ("auto-submitted") or a name is never split at its hyphen."""
    import textwrap

    indent = " " * 20
    say(
        textwrap.fill(
            text,
            LINE,
            initial_indent=f"{label:<20}",
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
    )


@click.group("time")
def time_group() -> None:
    """Time agents spent on conversations: the app measures it while a thread or the
    composer has the keyboard; log more by hand here."""


@time_group.command("add")
@click.argument("conversation_id", type=int)
@click.argument("duration")
@click.option("--note", default="", help="What the time went on.")
@click.option("--agent", help="Whose time (a handle; default: you, DESKTERM_AGENT).")
@json_option
@handle_errors
def time_add(
    conversation_id: int, duration: str, note: str, agent: str | None, as_json: bool
) -> None:
    """Log DURATION (15m, 1h30m, 1.5h, 1:30) spent on a conversation."""
    from deskterm.desk import time_spent

    open_existing_desk()
    entry = time_spent.add(
        conversation_id, time_spent.parse_duration(duration), note=note, agent=agent
    )
    if as_json:
        echo_json(entry)
        return
    total = time_spent.format_duration(time_spent.total(conversation_id))
    say(f"Logged {entry['spent']} on #{conversation_id} (entry {entry['id']}); {total} in all.")


@time_group.command("list")
@click.argument("conversation_id", type=int)
@json_option
@handle_errors
def time_list(conversation_id: int, as_json: bool) -> None:
    """The time spent on a conversation, entry by entry."""
    from deskterm.desk import time_spent

    open_existing_desk()
    entries = time_spent.entries(conversation_id)
    if as_json:
        echo_json(entries)
        return
    if not entries:
        say(f"No time logged on #{conversation_id}.")
        return
    for entry in entries:
        who = one_line(str(entry["agent"] or "-"))
        say(
            f"{entry['id']:>6}  {entry['started_at']}  {entry['spent']:>8}  {who:<12} "
            f"{entry['source']:<7} {one_line(str(entry['note']))}"
        )
    total = time_spent.format_duration(sum(int(e["seconds"]) for e in entries))
    say(f"{total} in all.")


@time_group.command("edit")
@click.argument("entry_id", type=int)
@click.argument("duration", required=False)
@click.option("--note", default=None, help="What the time went on (replaces the note).")
@json_option
@handle_errors
def time_edit(entry_id: int, duration: str | None, note: str | None, as_json: bool) -> None:
    """Correct a time entry (its number in `deskterm time list ID`): its DURATION (15m,
    1h30m, 1.5h, 1:30), its note, or both. Yours, or anyone's if you are an admin."""
    from deskterm.desk import time_spent
    from deskterm.errors import ConfigError

    if duration is None and note is None:
        raise ConfigError("Say what to change: `deskterm time edit ENTRY 15m --note TEXT`.")
    open_existing_desk()
    seconds = None if duration is None else time_spent.parse_duration(duration)
    entry = time_spent.edit(entry_id, seconds=seconds, note=note)
    if as_json:
        echo_json(entry)
        return
    cid = int(entry["conversation"])
    total = time_spent.format_duration(time_spent.total(cid))
    say(f"Time entry {entry_id} is now {entry['spent']}; {total} in all on #{cid}.")


@time_group.command("remove")
@click.argument("entry_id", type=int)
@handle_errors
def time_remove(entry_id: int) -> None:
    """Remove a time entry (its number in `deskterm time list ID`)."""
    from deskterm.desk import time_spent

    open_existing_desk()
    time_spent.remove(entry_id)
    say(f"Time entry {entry_id} removed.")
