"""Worker status: each channel's state, its IDLE session and next poll, and the recent runs.

The rows come from the engine (`status.status_rows`, `queries.job_report`), read in a thread.
The screen follows the worker through the app's reactives (state, activity, channel summary,
desk version), each change coalesced into one reload, and a slow timer keeps "next poll"
counting down. `p` pauses or resumes the highlighted channel (stored in the database, so a
separate `deskterm poll` obeys it too) and `n` polls it now. On a team desk a channel that
another worker leads is that worker's to poll: its detail line says who, and `n` says so
rather than promising a poll this app's worker would never make.
"""

from __future__ import annotations

import os
import socket
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from deskterm.channels import registry as channels
from deskterm.desk import queries
from deskterm.engine.status import status_rows
from deskterm.sanitize import one_line
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.screens.words import tui_words
from deskterm.widgets.status_bar import StatusBar

RELOAD_DELAY = 0.3  # seconds: worker events within this window cause one reload
TICK_SECONDS = 5.0  # "next poll in" is re-read this often
RUNS = 20
POLLABLE = ("ok", "failing", "new")


def next_poll_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return "now"
    if seconds < 120:
        return f"in {seconds:.0f} s"
    return f"in {seconds / 60:.0f} min"


STATE_STYLES = {
    "ok": "green",
    "polling": "bold",
    "failing": "bold red",
    "cooling off": "bold yellow",
    "skip window": "yellow",
    "paused": "yellow",
}


class WorkerStatusScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause or resume the channel", id="worker.pause"),
        Binding("n", "poll_now", "Poll the channel now", id="worker.poll_now"),
        Binding("ctrl+r", "reload", "Reload", id="worker.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="worker.back"),
    ]
    TABLE = "#channels"
    EMPTY_HINT = "There is no channel here."
    EMPTY_SEVERITY = "warning"
    # Unlike the lists TableScreen cuts at the edge, these tables scroll sideways when narrow.
    DEFAULT_CSS = """
    WorkerStatusScreen .title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    WorkerStatusScreen #channels { height: auto; max-height: 8; overflow-x: auto; }
    WorkerStatusScreen #detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    WorkerStatusScreen #runs { height: 1fr; overflow-x: auto; }
    """

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
            super().__init__()
            self.rows = rows
            self.runs = runs

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[dict[str, Any]] = []
        self.polling: set[str] = set()  # the channels whose poll is running now
        self._reload_pending = False

    def compose(self) -> ComposeResult:
        yield Static(Content(""), id="heading", classes="title")
        yield row_table(
            (
                ("Channel", 14),
                ("State", 11),
                ("IDLE", 12),
                ("Next poll", 9),
                ("Paused", 6),
                ("Led by", 14),
            ),
            id="channels",
        )
        yield Static(Content(""), id="detail")
        yield Static(Content("Recent runs (newest first)"), classes="title")
        yield row_table(
            (
                ("Started (UTC)", 14),
                ("Channel", 10),
                ("Fetch", 5),
                ("New", 5),
                ("Skip", 4),
                ("Fail", 4),
                ("Result", None),  # the rest: "ok" or why not
            ),
            line=self.app.size.width,
            id="runs",
            cursor_type="none",
            zebra_stripes=True,
        )
        yield StatusBar("p pause/resume  n poll now  esc back", id="status")

    def on_mount(self) -> None:
        """Follow the worker as well as the desk (`TableScreen.on_mount` then loads the rows)."""
        for name in ("worker_state", "activity", "channel_summary", "desk_version"):
            self.watch(self.app, name, lambda _value: self.schedule_reload(), init=False)
        self.set_interval(TICK_SECONDS, self.reload)

    def on_screen_resume(self) -> None:
        self.reload()

    # --- loading -----------------------------------------------------------------------

    def schedule_reload(self) -> None:
        """Reload soon, once for any number of worker events until then."""
        if not self._reload_pending:
            self._reload_pending = True
            self.set_timer(RELOAD_DELAY, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_pending = False
        self.reload()

    @work(
        thread=True,
        exclusive=True,
        group="load",
        exit_on_error=False,
        description="reading the worker",
    )
    def _load(self) -> None:
        rows = status_rows(self.desk.engine)
        runs = queries.job_report(limit=RUNS)["runs"]
        self.post_message(self.Loaded(rows, runs))

    def on_worker_status_screen_loaded(self, message: Loaded) -> None:
        rows, self.runs = message.rows, message.runs
        self.polling = {
            run["channel"] for run in self.runs if run["kind"] == "poll" and not run["finished_at"]
        }
        self._show_heading()
        # The highlighted line stays where it was (the channels' order does not change).
        line = min(self.table.cursor_row, len(rows) - 1)
        self.fill(rows, self._cells, "id", str(rows[line]["id"]) if rows else None)
        runs = self.query_one("#runs", DataTable)
        runs.clear()
        for run in self.runs:
            started = (run["started_at"] or "")[5:19].replace("T", " ")
            runs.add_row(
                cell(started),
                cell(run["channel"] or "-"),
                cell(run["fetched"]),
                cell(run["ingested"]),
                cell(run["skipped"]),
                cell(run["failed"]),
                cell(
                    tui_words(run["error"] or "")
                    or ("running" if not run["finished_at"] else "ok"),
                    "red" if run["error"] else "",
                ),
            )

    def _cells(self, row: dict[str, Any]) -> list[Text]:
        # A failing (or new) channel being polled right now says so: its IDLE session may
        # already be signed in again while the poll that will clear "failing" still runs
        # (the first sync of a big mailbox takes minutes).
        state = str(row["state"])
        if state in ("failing", "new") and row["name"] in self.polling:
            state = "polling"
        return [
            cell(row["name"]),
            cell(state, STATE_STYLES.get(state, "")),
            cell(self._idle_text(row)),
            cell(next_poll_text(row["next_run"])),
            cell("yes" if row["paused"] else ""),
            cell(self._leader_text(row["leader"])),
        ]

    @staticmethod
    def _leader_text(lead: dict[str, Any]) -> str:
        """Who leads, short: "this app", a host (written by another machine: one_line), or
        "nobody" (none, or a leader not heard from); the detail line has the rest."""
        if lead["state"] != "leading":
            return "nobody"
        if lead["host"] == socket.gethostname() and lead["pid"] == os.getpid():
            return "this app"
        return one_line(str(lead["host"]))

    def _idle_text(self, row: dict[str, Any]) -> str:
        idle = row["idle"]
        if idle is None:
            return "—"
        if str(idle).startswith("lost"):
            return "lost"
        return str(idle or "—")

    def _show_heading(self) -> None:
        state = self.desk.worker_state
        if self.desk.engine is not None:
            where = f"Worker {state}"
        elif state.startswith("in "):
            where = f"Worker {state}: it alone knows its IDLE sessions and next polls"
        else:
            where = f"Worker {state}: this app polls nothing"
        self.query_one("#heading", Static).update(Content(one_line(where)))

    def show_current(self) -> None:
        row = self.current
        text = ""
        if row is not None:
            text = f"{row['name']}: {tui_words(str(row['detail']))}"
            if str(row["idle"] or "").startswith("lost"):
                text += f"; IDLE {row['idle']}"
            if row["led_here"] or self.desk.engine is None:  # else the detail says who leads
                text += f"; led by: {row['leader_text']}"
        self.query_one("#detail", Static).update(Content(one_line(text)))

    # --- keys --------------------------------------------------------------------------

    def action_pause(self) -> None:
        row = self._selected()
        if row is not None:
            self._pause(row["name"], not row["paused"])

    @work(thread=True, exclusive=True, group="pause", exit_on_error=False, description="pausing")
    def _pause(self, name: str, paused: bool) -> None:
        channels.set_paused(name, paused)
        self.desk.recheck_channels()  # a resumed channel is polled when due, without waiting
        note = (
            f"{name} is paused: it is not polled until you resume it (p)."
            if paused
            else f"{name} is resumed."
        )
        self.app.call_from_thread(self.notify, note, markup=False)
        self.app.call_from_thread(self.reload)

    def action_poll_now(self) -> None:
        row = self._selected()
        if row is None:
            return
        if self.desk.engine is None:
            self.desk.poll_now()  # says why there is nothing to poll from here
            return
        if not row["led_here"]:  # a team desk's channel that another worker polls
            why = one_line(tui_words(str(row["detail"])))
            self.notify(
                f"{row['name']} is not polled from here: {why}.",
                severity="warning",
                markup=False,
            )
            return
        if row["state"] not in POLLABLE:
            self.notify(
                f"{row['name']} is not polled now: {one_line(tui_words(str(row['detail'])))}.",
                severity="warning",
                markup=False,
            )
            return
        self.desk.poll_now(int(row["id"]), row["name"])
        self.schedule_reload()
