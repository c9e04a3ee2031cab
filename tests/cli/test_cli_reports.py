"""`deskterm report` and `deskterm time` as scripts use them (issue 17), on the demo's week."""

from __future__ import annotations

import csv
import io

import pytest

from deskterm.cli.reports import labelled
from deskterm.demo import desk as demo
from deskterm.desk import agents
from deskterm.store import connection
from deskterm.store.models import Conversation
from tests.conftest import Desk

WEEK = ("--since", "2024-03-04", "--until", "2024-03-11")


@pytest.fixture
def week(desk: Desk) -> Desk:
    demo.build_demo(now=demo.ANCHOR, history=True)
    connection.close_database()
    return desk


def test_json_and_csv_carry_the_same_numbers(week: Desk) -> None:
    data = week.json("report", *WEEK)
    assert data["new"]["total"] == 22
    assert data["first_response"]["median_seconds"] == 7200
    table = list(csv.DictReader(io.StringIO(week.run("report", *WEEK, "--csv").stdout)))
    found = {(r["section"], r["key"], r["metric"]): r["value"] for r in table}
    assert found[("new", "", "total")] == "22"
    assert found[("first_response", "", "median_seconds")] == "7200"
    assert found[("new", "2024-03-11", "count")] == "8"
    assert found[("by_agent", "sam", "time_seconds")] == "2100"
    assert found[("sla", "", "note")].startswith("No SLA targets")
    # The breakdowns' times and SLA numbers: sam's one first response, 35m after arrival.
    [sam] = [row for row in data["by_agent"] if row["agent"] == "sam"]
    assert sam["first_response_median_seconds"] == sam["first_response_p90_seconds"] == 2100
    assert (sam["sla_first_response_met"], sam["sla_attainment_pct"]) == (0, None)
    assert found[("by_agent", "sam", "first_response_median_seconds")] == "2100"
    assert found[("by_agent", "sam", "sla_attainment_pct")] == ""


def test_the_text_report_draws_and_names(week: Desk) -> None:
    out = week.run("report", *WEEK).stdout
    assert "New conversations" in out and "22" in out
    assert "▁▂▁▁▂▃▅█" in out  # new conversations per day, as a sparkline
    assert "median 2h 00m, 90% within 2d 00h" in out
    # The breakdown tables: median times and the SLA attainment (none without a policy).
    assert "Per agent           new replies resolved     time 1st resp  resolve  SLA %" in out
    assert "  sam                 2       2        0      35m      35m        -      -" in out
    tables = out[out.index("Per agent") :]
    assert all(len(line) <= 80 for line in tables.splitlines())
    assert "No agents" not in out  # the demo has agents: the table alone


def test_filters_and_mistakes(week: Desk) -> None:
    assert week.json("report", *WEEK, "--agent", "sam")["new"]["total"] == 2
    bad = week.run("report", "--since", "March", ok=False)
    assert bad.exit_code != 0 and "2024-03-31" in bad.output
    unknown = week.run("report", *WEEK, "--channel", "nope", ok=False)
    assert "deskterm channel list" in unknown.output


def test_time_is_logged_and_listed(week: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    said = week.run("time", "add", "1", "1h30m", "--note", "a call").stdout
    assert "Logged 1h 30m on #1" in said
    entries = week.json("time", "list", "1")
    assert [(e["agent"], e["seconds"], e["note"]) for e in entries] == [("kim", 5400, "a call")]
    refused = week.run("time", "add", "1", "15x", ok=False)
    assert "15m, 1h30m" in refused.output
    week.run("time", "remove", str(entries[0]["id"]))
    assert week.json("time", "list", "1") == []


def test_a_time_entry_is_corrected_and_mistakes_name_the_command_to_run(
    week: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    entry = week.json("time", "add", "1", "15m", "--note", "a call")["id"]
    said = week.run("time", "edit", str(entry), "45m").stdout
    assert said.startswith(f"Time entry {entry} is now 45m;") and "on #1" in said
    edited = week.json("time", "edit", str(entry), "--note", "two calls")
    assert (edited["seconds"], edited["note"]) == (2700, "two calls")
    unknown = week.run("time", "edit", "99999", "15m", ok=False)
    assert unknown.exit_code == 1 and "deskterm time list ID" in unknown.output
    nothing = week.run("time", "edit", str(entry), ok=False)
    assert "deskterm time edit ENTRY 15m" in nothing.output
    assert "15m, 1h30m" in week.run("time", "edit", str(entry), "15x", ok=False).output
    monkeypatch.setenv("DESKTERM_AGENT", "sam")  # the demo names no admin: anyone corrects
    assert week.json("time", "edit", str(entry), "30m")["seconds"] == 1800


def test_a_year_by_day_draws_within_80_columns_and_keeps_its_spikes(week: Desk) -> None:
    out = week.run("report", "--since", "2024-01-01", "--until", "2024-12-31", "--by", "day")
    lines = out.stdout.splitlines()
    drawn = [line for line in lines if any(bar in line for bar in "▁▂▃▄▅▆▇█")]
    assert len(drawn) == 5 and all(len(line) <= 80 for line in [lines[0], *drawn])
    assert "per day (UTC); a bar is the highest day of 8" in lines[0]
    [new] = [line for line in lines if line.startswith("New conversations")]
    bars = new[31:]
    assert len(bars) == 46 and bars.count("█") == 1  # the demo's week is one bar's spike


def test_resampling_keeps_a_short_series_and_the_peak_of_a_long_one() -> None:
    from deskterm.cli.reports import resample

    assert resample([1, 5, 2], 49) == ([1, 5, 2], 1)
    days = [0] * 365
    days[200] = 9
    bars, size = resample(days, 49)
    assert size == 8 and len(bars) == 46 and max(bars) == 9 and bars[25] == 9


def test_every_line_of_the_text_report_fits_80_columns_with_business_hours(week: Desk) -> None:
    """The labelled lines wrap under their label: the business-hours sentence alone is 110
    columns, and an SLA summary or a desk's skip reasons can be as long."""
    week.run("sla", "add", "weekdays", "--first-response", "4h", "--resolution", "16h",
             "--hours", "mon-fri 09:00-17:00")  # fmt: skip
    out = week.run("report", *WEEK).stdout
    assert all(len(line) <= 80 for line in out.splitlines()), out
    times = out[out.index("Times are") :].split("\n", 2)
    assert times[0].startswith("Times are in business hours")
    assert times[1].startswith(" " * 20) and times[1].strip()  # wrapped under the label


def test_without_agents_the_per_agent_table_says_what_to_add(week: Desk) -> None:
    connection.open_database()
    Conversation.update(assignee=None).execute()
    for handle in agents.handles():
        agents.remove(handle)
    connection.close_database()
    out = week.run("report", *WEEK).stdout
    per_agent = out[out.index("Per agent") : out.index("Per organization")]
    said = " ".join(per_agent.split())
    assert "No agents on this desk" in said and "(`deskterm agent add EMAIL --name NAME`)" in said
    assert all(len(line) <= 80 for line in out.splitlines()), out
    data = week.json("report", *WEEK)
    assert data["agents"]["available"] is False
    assert data["agents"]["note"].startswith("No agents on this desk")
    table = list(csv.DictReader(io.StringIO(week.run("report", *WEEK, "--csv").stdout)))
    found = {(r["section"], r["key"], r["metric"]): r["value"] for r in table}
    assert found[("agents", "", "note")].startswith("No agents on this desk")


def test_a_labelled_line_wraps_at_spaces_never_inside_a_hyphenated_word(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ "auto-" would fit the first line (60 columns after the label), "auto-submitted" not:
    the reason moves to the next line whole."""
    labelled("Skipped mail", "w" * 53 + " auto-submitted 1, duplicate 2")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["Skipped mail        " + "w" * 53, " " * 20 + "auto-submitted 1, duplicate 2"]
