"""The Reports screen (issue 17) through Pilot, on the demo desk with its known week of work:
the numbers it shows are the CLI's for the same period, it fits 80x24 and reads without
colour."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import DataTable

from deskterm.app import DeskApp
from deskterm.cli.main import main
from deskterm.demo import desk as demo
from deskterm.desk import agents, sla
from deskterm.desk.sla_policies import Terms
from deskterm.screens.reports import ReportsScreen
from deskterm.store import connection
from deskterm.store.db import clock_at
from deskterm.store.models import Conversation
from tests.tui.test_app import drive, screen_text, settle


@pytest.fixture
def week(monkeypatch: pytest.MonkeyPatch) -> None:
    demo.build_demo(now=demo.ANCHOR, history=True)
    monkeypatch.setenv("DESKTERM_AGENT", "sam")


def cli_rows(since: str, until: str) -> list[tuple[str, str, str, str]]:
    out = CliRunner().invoke(main, ["report", "--since", since, "--until", until, "--csv"])
    connection.close_database()
    assert out.exit_code == 0, out.output
    table = csv.reader(io.StringIO(out.stdout))
    next(table)
    return [(s, k, m, v) for s, k, m, v in table]


def screen_rows(app: DeskApp) -> list[tuple[str, str, str, str]]:
    table: DataTable[Any] = app.screen.query_one("#numbers", DataTable)
    return [
        tuple(str(cell) for cell in table.get_row_at(i)[:4])  # type: ignore[misc]
        for i in range(table.row_count)
    ]


def test_the_screen_and_the_cli_agree_on_every_number(week: None) -> None:
    """With an SLA policy in force (business hours, so the times are counted in them too)."""
    with clock_at(demo.ANCHOR):
        sla.add_policy("standard", Terms(first_response="1h", hours="mon-fri 09:00-17:00"))
    connection.close_database()
    shown: dict[str, Any] = {}

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        shown["30 days"] = screen_rows(app)
        await pilot.press("p")  # 90 days
        await settle(pilot)
        shown["90 days"] = screen_rows(app)
        text = screen_text(app)
        assert "2023-12-13 to 2024-03-11" in text

    drive(scenario)
    assert shown["30 days"] == cli_rows("2024-02-11", "2024-03-11")
    assert shown["90 days"] == cli_rows("2023-12-13", "2024-03-11")
    # The SLA section is there (not its note), target by target, in both.
    sla_rows = {(k, m) for s, k, m, _v in shown["30 days"] if s == "sla"}
    assert ("first_response", "attainment_pct") in sla_rows
    assert ("resolution", "breached") in sla_rows
    # The breakdowns' times and SLA numbers are among the numbers both show.
    found = {(s, k, m): v for s, k, m, v in shown["30 days"]}
    for metric in (
        "first_response_median_seconds",
        "first_response_p90_seconds",
        "resolution_median_seconds",
        "resolution_p90_seconds",
        "sla_first_response_breached",
        "sla_attainment_pct",
    ):
        for section, key in (("by_agent", "(no agent)"), ("by_channel", "demo")):
            assert (section, key, metric) in found
    assert (
        found[("by_channel", "demo", "first_response_median_seconds")]
        == found[("first_response", "", "median_seconds")]
    )


def test_the_breakdown_tables_show_times_and_sla_within_80_columns(week: None) -> None:
    with clock_at(demo.ANCHOR):
        sla.add_policy("standard", Terms(first_response="1h", hours="mon-fri 09:00-17:00"))
    connection.close_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await settle(pilot)
        app.screen.query_one("#plots").scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        header = "Per channel         new replies resolved     time 1st resp  resolve  SLA %"
        assert header in text
        # The demo channel: the period's medians (1h and 4h in business hours), 0 of 16 met.
        assert "  demo               22       5        3   1h 30m   1h 00m   4h 00m   0.0%" in text
        assert all(len(line) <= 80 for line in text.splitlines())

    drive(scenario)


def test_plots_fit_80x24_and_the_numbers_are_one_key_away(week: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await settle(pilot)
        text = screen_text(app)
        assert "Reports · 2024-02-11 to 2024-03-11, per day (UTC)" in text
        assert "New conversations: 22 in all, peak 8/day" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        table = app.screen.query_one("#numbers", DataTable)
        assert not table.display
        await pilot.press("n")
        await settle(pilot)
        assert table.display and "median_seconds" in screen_text(app)
        await pilot.press("n", "left_square_bracket")
        await settle(pilot)
        assert "2024-01-12 to 2024-02-10" in screen_text(app)
        assert "New conversations: 0 in all" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportsScreen)

    drive(scenario)


def test_in_monochrome_the_plots_are_drawn_with_heights(
    week: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await settle(pilot)
        text = screen_text(app)
        # Taller and shorter bars, not only colours: the series reads without colour.
        assert "█" in text and any(bar in text for bar in "▁▂▃▄▅▆▇")

    drive(scenario)


def test_the_palette_offers_the_reports(week: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        names = [c.title for c in app.get_system_commands(app.screen)]
        assert "Reports" in names

    drive(scenario)


def test_without_agents_the_per_agent_table_says_so(week: None) -> None:
    Conversation.update(assignee=None).execute()
    for handle in agents.handles():
        agents.remove(handle)
    connection.close_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await settle(pilot)
        app.screen.query_one("#plots").scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        said = " ".join(text[text.index("Per agent") : text.index("Per organization")].split())
        assert "No agents on this desk: the per-agent numbers need them" in said
        assert "deskterm agent add" in said  # the TUI has no key for it: the command stays
        assert all(len(line) <= 80 for line in text.splitlines())

    drive(scenario)


def test_without_sla_policies_the_screen_names_the_key_that_adds_one(week: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await settle(pilot)
        said = app.screen.query_one("#summary").render()
        text = str(said)
        assert "No SLA targets on this desk" in text
        assert "a on the SLA policies (D in the list, then 2)" in text
        assert "deskterm sla add" not in text

    drive(scenario)
