"""The outbox: every reply queued, sending, sent, failed or cancelled, newest first.

Read by a thread worker from `outbox.listing(include_sent=True)` and redrawn whenever the
desk changes under the UI (the worker's "delivery" events bump `desk_version`, as does a
`deskterm poll` running elsewhere), so a reply is seen going from queued to sent or failed
without a key press. `r` queues a failed or cancelled reply again, `c` cancels one that has
not left; both are `deskterm.outbound.outbox` calls, with its one-sentence refusals.

Subjects and server answers are mail-borne or remote text: `one_line` and `rich.text.Text`
cells, never markup (a DataTable parses plain strings).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.channels import registry as channels
from deskterm.outbound import composer, outbox
from deskterm.sanitize import one_line
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.widgets.status_bar import StatusBar

SHOWN = 1000  # the newest items drawn; the whole history is in `deskterm outbox --all --json`
STATE_STYLES = {
    "queued": "yellow",
    "sending": "bold yellow",
    "sent": "green",
    "failed": "bold red",
    "cancelled": "dim",
}


def detail(row: dict[str, Any], waiting: str | None) -> str:
    """The last column: why it failed, when it is tried again, or why it waits."""
    if row["state"] == "queued" and waiting:
        return waiting
    if row["error"]:
        return one_line(row["error"])
    if row["state"] == "queued" and row["next_attempt_at"] and row["attempts"]:
        return f"next try {row['next_attempt_at'][11:16]} UTC"
    if row["state"] == "sent" and row["sent_at"]:
        return f"sent {row['sent_at'][:16].replace('T', ' ')} UTC"
    return ""


class OutboxScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="outbox.back"),
        Binding("r", "retry", "Retry (queue again now)", id="outbox.retry"),
        Binding("c", "cancel", "Cancel (never send)", id="outbox.cancel"),
        Binding("enter", "open", "Open the conversation", id="outbox.open", priority=True),
        Binding("ctrl+r", "reload", "Reload", id="outbox.reload"),
    ]
    FOLLOWS_DESK = True
    EMPTY_HINT = "The outbox is empty."
    EMPTY_SEVERITY = "warning"

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]], waiting: dict[str, str]) -> None:
            super().__init__()
            self.rows = rows
            self.waiting = waiting  # channel name -> why its replies stay queued

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(Content("Outbox (newest first)"), id="title")
        yield row_table(
            (("id", 5), ("#", 5), ("state", 9), ("tries", 5), ("subject", 28), ("detail", None)),
            line=self.app.size.width,
        )
        yield Static(Content("loading…"), id="empty")
        yield Static(Content(""), id="detail", classes="detail")
        yield StatusBar("r retry  c cancel  enter open  esc back  ? help")

    @work(
        thread=True,
        exclusive=True,
        group="outbox",
        exit_on_error=False,
        description="reading the outbox",
    )
    def _load(self) -> None:
        rows = outbox.listing(include_sent=True)[-SHOWN:][::-1]
        waiting = {}
        for channel in channels.all_channels():
            reason = composer.waiting_reason(channel.name, channel.status)
            if reason:
                waiting[channel.name] = reason
        self.post_message(self.Loaded(rows, waiting))

    def on_outbox_screen_loaded(self, message: Loaded) -> None:
        self.waiting = message.waiting
        self.fill(message.rows, self._cells, "id")
        empty = self.query_one("#empty", Static)
        empty.update(Content("The outbox is empty: no reply was queued yet."))
        empty.set_class(bool(message.rows), "-hidden")

    def _cells(self, row: dict[str, Any]) -> list[Text]:
        state = row["state"]
        return [
            cell(row["id"]),
            cell(f"#{row['conversation']}"),
            cell(state, STATE_STYLES.get(state, "")),
            cell(row["attempts"]),
            cell(row["subject"] or "(no subject)"),
            cell(detail(row, self.waiting.get(row["channel"])), "dim"),
        ]

    def show_current(self) -> None:
        """The highlighted reply in full: the table cuts subjects and server answers short."""
        row = self.current
        text = Content("")
        if row is not None:
            why = detail(row, self.waiting.get(row["channel"]))
            text = Content.assemble(
                (f"#{row['conversation']} {row['state']}: ", "bold"),
                one_line(row["subject"] or "(no subject)"),
                "\n" if why else "",
                (why, "dim"),
            )
        self.query_one("#detail", Static).update(text)

    # --- keys --------------------------------------------------------------------------------

    def action_retry(self) -> None:
        row = self._selected()
        if row is not None:
            with self.desk.reporting("retry the reply"):
                outbox.retry(row["id"])
                self.notify(f"Outbox item {row['id']} is queued again.", markup=False)
                self.reload()

    def action_cancel(self) -> None:
        row = self._selected()
        if row is not None:
            with self.desk.reporting("cancel the reply"):
                outbox.cancel(row["id"])
                self.notify(f"Outbox item {row['id']} is cancelled.", markup=False)
                self.reload()

    def action_open(self) -> None:
        row = self.current
        if row is not None:
            from deskterm.screens.thread import ThreadScreen

            self.app.push_screen(ThreadScreen(row["conversation"]))
