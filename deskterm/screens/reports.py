"""The Reports screen (`R` from the list, or the command palette): the desk's numbers over a
period, drawn (issue 17).

The numbers are `deskterm.desk.reports.compute`'s, read in a thread worker, the same call as
`deskterm report`. Drawn with Textual's own `Sparkline` (one per series) and text tables (the
breakdowns per agent, organization, channel and type, as `deskterm report` prints them): the
plotting widgets for Textual were not a fit (README, "Reports"). A sparkline draws heights
with block characters, so it reads in monochrome (`NO_COLOR`) as in colour; every drawn
series has its total and its peak beside it, and `n` shows every number as a table (the rows
`deskterm report --csv` writes). `[`/`]` move to the previous/next period, `p` changes its
length (7, 30, 90 or 365 days, ending on the app's today).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Sparkline, Static

from deskterm.desk import report_rows, report_scope, report_sla, reports
from deskterm.desk.time_spent import format_duration
from deskterm.sanitize import one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.words import tui_sentence
from deskterm.widgets.status_bar import StatusBar

LENGTHS = (7, 30, 90, 365)  # days a period can span: `p` steps through them
DRAWN = (
    ("New conversations", "new", "series", False),
    ("Replies sent", "replies", "series", False),
    ("Resolved", "resolution", "series", False),
    ("Backlog (open + pending)", "backlog", "series", False),
    ("Time spent", "time_spent", "series", True),
)


class ReportsScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="reports.back"),
        Binding("n", "numbers", "Show the numbers / the plots", id="reports.numbers"),
        Binding("left_square_bracket", "move(-1)", "Previous period", id="reports.previous"),
        Binding("right_square_bracket", "move(1)", "Next period", id="reports.next"),
        Binding("p", "length", "Period: 7, 30, 90, 365 days", id="reports.length"),
        Binding("ctrl+r", "reload", "Reload", id="reports.reload"),
    ]
    DEFAULT_CSS = """
    ReportsScreen #plots { height: 1fr; padding: 0 1; }
    ReportsScreen .caption { height: 1; margin-top: 1; }
    ReportsScreen Sparkline { height: 2; }
    ReportsScreen .text { height: auto; margin-top: 1; }
    ReportsScreen #numbers { height: 1fr; }
    ReportsScreen .-none { display: none; }
    """

    class Loaded(Message):
        def __init__(self, data: dict[str, Any]) -> None:
            super().__init__()
            self.data = data

    def __init__(self, until: date | None = None, days: int = 30) -> None:
        super().__init__()
        self.until = until
        self.days = days
        self.data: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content("Reports"), id="title")
        with VerticalScroll(id="plots"):
            for label, section, _series, _time in DRAWN:
                yield Static(Content(label), classes="caption", id=f"caption-{section}")
                yield Sparkline([], id=f"plot-{section}")
            yield Static(Content("loading…"), classes="text", id="summary")
        table: DataTable[Any] = DataTable(id="numbers", classes="-none", cursor_type="row")
        yield table
        yield StatusBar("esc back  n numbers  [ ] period  p length  ? help")

    def on_mount(self) -> None:
        if self.until is None:
            self.until = self.desk.clock().date()
        table = self.query_one("#numbers", DataTable)
        table.add_columns("section", "key", "metric", "value", "shown")
        self.follow_desk()
        self.reload()

    def scope(self) -> report_scope.Scope:
        until = self.until or self.desk.clock().date()
        return report_scope.scope(until - timedelta(days=self.days - 1), until)

    def reload(self) -> None:
        self._load(self.scope())

    @work(
        thread=True,
        exclusive=True,
        group="reports",
        exit_on_error=False,
        description="computing the report",
    )
    def _load(self, sc: report_scope.Scope) -> None:
        self.post_message(self.Loaded(reports.compute(sc)))

    def on_reports_screen_loaded(self, message: Loaded) -> None:
        data = self.data = message.data
        period = data["period"]
        self.query_one("#title", Static).update(
            Content(f"Reports · {period['since']} to {period['until']}, per {period['step']} (UTC)")
        )
        for label, section, series, is_time in DRAWN:
            values = data[section][series]
            total = values[-1] if section == "backlog" else sum(values)
            peak = max(values, default=0)
            shown = format_duration if is_time else str
            what = "at the end" if section == "backlog" else "in all"
            self.query_one(f"#caption-{section}", Static).update(
                Content(f"{label}: {shown(total)} {what}, peak {shown(peak)}/{period['step']}")
            )
            self.query_one(f"#plot-{section}", Sparkline).data = values
        self.query_one("#summary", Static).update(Content(summary(data)))
        table = self.query_one("#numbers", DataTable)
        table.clear()
        for section, key, metric, value in report_rows.rows(data):
            table.add_row(  # Text: names from mail (a skip reason) are never markup
                Text(section),
                Text(one_line(key)),
                Text(metric),
                Text("" if value is None else one_line(str(value))),
                Text(_shown(metric, value)),
            )

    # --- keys ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_numbers(self) -> None:
        table = self.query_one("#numbers", DataTable)
        showing = table.has_class("-none")
        table.set_class(not showing, "-none")
        self.query_one("#plots").set_class(showing, "-none")
        if showing:
            table.focus()

    def action_move(self, step: int) -> None:
        until = self.until or self.desk.clock().date()
        self.until = until + timedelta(days=step * self.days)
        self.reload()

    def action_length(self) -> None:
        self.days = (
            LENGTHS[(LENGTHS.index(self.days) + 1) % len(LENGTHS)]
            if (self.days in LENGTHS)
            else LENGTHS[0]
        )
        self.reload()

    def action_reload(self) -> None:
        self.reload()


def _shown(metric: str, value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and metric.endswith("seconds"):
        return format_duration(value)
    return ""


def summary(data: dict[str, Any]) -> str:
    """The figures that are not series, and the breakdown tables (report_rows.table, the
    CLI's too), as plain text lines."""
    first, done = data["first_response"], data["resolution"]

    def span(seconds: int | None) -> str:
        return "-" if seconds is None else format_duration(seconds)

    lines = [
        f"First response: median {span(first['median_seconds'])}, 90% within "
        f"{span(first['p90_seconds'])} ({first['answered']} answered, "
        f"{first['unanswered']} not yet)",
        f"Resolution: median {span(done['median_seconds'])}, 90% within "
        f"{span(done['p90_seconds'])} ({done['resolved']} resolved)",
        f"Times are {first['hours']}.",
        f"SLA: {tui_sentence(report_sla.summary(data['sla']))}",
        "Skipped mail: "
        + (
            ", ".join(f"{one_line(k)} {n}" for k, n in data["skipped"]["by_reason"].items())
            or "none"
        ),
    ]
    for section, _field in report_rows.BREAKDOWNS:
        lines += ["", *report_rows.table(data, section)]
        if lacking := report_rows.note(data, section):
            lines.append(tui_sentence(lacking))
    return "\n".join(lines)
