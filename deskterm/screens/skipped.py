"""Mail that did not become a conversation message, and why (auto-replies, filters, ...).

`deskterm skipped` in the terminal: the newest `SHOWN` skipped mails in a table (j/k and the
arrows move, g/G first/last), the highlighted one in full below it, and Enter opens
everything stored about it (`queries.skipped_detail`): its channel, folder and UID, when,
Message-ID, dedup key, sender, subject, reason, and the raw message as fetched, whose start
is shown. The list follows the desk: mail skipped while it is open appears without a key.
`i` (in the list or the detail) ingests the mail anyway (`inbound.rescue`): a real customer a
filter took for a robot becomes a message, threaded as usual, with no acknowledgement sent.

A skipped mail is mail, so hostile: every field passes `one_line` (the raw message `clean`)
and is drawn as `Content` or `rich.text.Text`, never markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.desk import queries
from deskterm.inbound import rescue
from deskterm.sanitize import clean, one_line
from deskterm.screens.base import OnTheDesk, ReadingScreen
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.widgets.message_view import human_size
from deskterm.widgets.status_bar import StatusBar

SHOWN = 500  # the newest skipped mails listed; `deskterm skipped --json --limit N` has more
RAW_SHOWN = 65_536  # bytes of the raw message shown in the detail view


def when(at: str | None) -> str:
    """`2024-03-11T10:20:00+00:00` -> `03-11 10:20` (UTC, as stored)."""
    return at[5:16].replace("T", " ") if at else ""


def count_line(total: int, shown: int) -> str:
    if total == 0:
        return "No mail was skipped."
    if total <= shown:
        return f"{total} skipped {'mail' if total == 1 else 'mails'}, newest first (UTC)."
    return (
        f"{total} skipped mails; the newest {shown} are listed (UTC). `deskterm skipped --json "
        f"--limit {total}` lists them all."
    )


class SkippedScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="skipped.back"),
        Binding("enter", "open", "Everything about this mail", id="skipped.open"),
        Binding("i", "ingest", "Ingest anyway (a real customer)", id="skipped.ingest"),
        Binding("ctrl+r", "reload", "Reload", id="skipped.reload"),
    ]
    FOLLOWS_DESK = True
    EMPTY_HINT = "No mail was skipped."
    DEFAULT_CSS = """
    SkippedScreen #count { height: auto; padding: 0 1; color: $text-muted; }
    SkippedScreen DataTable.-empty { display: none; }
    """

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]], total: int) -> None:
            super().__init__()
            self.rows = rows
            self.total = total

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Static(Content("Skipped mail: fetched, but not made a message"), id="title")
        yield Static(Content("loading…"), id="count")
        yield row_table(
            (("when", 11), ("reason", 20), ("from", 18), ("subject", None)),
            line=self.app.size.width,
        )
        yield Static(Content(""), id="detail", classes="detail")
        yield StatusBar("enter details  i ingest anyway  j/k move  esc back  ? help")

    @work(
        thread=True,
        exclusive=True,
        group="skipped",
        exit_on_error=False,
        description="reading skipped mail",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(queries.skipped_list(SHOWN), queries.skipped_count()))

    def on_skipped_screen_loaded(self, message: Loaded) -> None:
        self.total = max(message.total, len(message.rows))
        self.fill(message.rows, self._cells, "id")
        self.table.set_class(not message.rows, "-empty")
        self.query_one("#count", Static).update(Content(count_line(self.total, len(self.rows))))

    @staticmethod
    def _cells(row: dict[str, Any]) -> list[Text]:
        return [
            cell(when(row["at"])),
            cell(row["reason"] or "", "bold"),
            cell(row["from"] or "(unknown)"),
            cell(row["subject"] or "(no subject)"),
        ]

    @property
    def current_id(self) -> int | None:
        row = self.current
        return None if row is None else row["id"]

    def show_current(self) -> None:
        """The highlighted mail's fields uncut: the table's columns cut them short."""
        row = self.current
        text = Content("")
        if row is not None:
            text = Content.assemble(
                (one_line(row["reason"] or ""), "bold $warning"),
                f"  {one_line(row['channel'] or '')}  {(row['at'] or '')[:19].replace('T', ' ')}\n",
                (f"from {one_line(row['from'] or '(unknown)')}\n", "$text-muted"),
                one_line(row["subject"] or "(no subject)"),
            )
        self.query_one("#detail", Static).update(text)

    def action_open(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(SkippedMailScreen(row["id"]))

    open_row = action_open

    def action_ingest(self) -> None:
        row = self._selected()
        if row is not None:
            ingest_anyway(self, row["id"])


def ingest_anyway(screen: OnTheDesk, skipped_id: int) -> bool:
    """Rescue skipped mail `skipped_id` and say where it went (or why it cannot be)."""
    with screen.desk.reporting("ingest the skipped mail"):
        done = rescue.rescue(skipped_id)
        screen.desk.desk_version += 1  # the lists (skipped, conversations) follow
        screen.desk.notify(
            f"Skipped mail {skipped_id} ingested into #{done.conversation_id}; no "
            "acknowledgement was sent.",
            markup=False,
        )
        return True
    return False


FIELDS = (
    ("channel", "channel"),
    ("when (UTC)", "at"),
    ("reason", "reason"),
    ("stored twin (message)", "twin_message"),
    ("from", "from"),
    ("subject", "subject"),
    ("message-id", "message_id"),
    ("folder", "folder"),
    ("uid", "uid"),
    ("dedup key", "dedup_key"),
    ("raw mail", "raw_file"),
)


def field_rows(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """(our label, the stored value as one plain line) for every field of a skipped mail."""
    rows = []
    for label, key in FIELDS:
        value = detail.get(key)
        if key == "twin_message" and value is None:
            continue  # only a duplicate has one
        if key == "at" and value:
            value = value[:19].replace("T", " ")
        if key == "raw_file":
            if not value:
                value = "(not kept)"
            elif detail.get("raw_size") is not None:
                value = f"{value} ({human_size(detail['raw_size'])})"
        rows.append((label, one_line(str(value)) if value not in (None, "") else "(none)"))
    return rows


class SkippedMailScreen(ReadingScreen):
    """Everything stored about one skipped mail, and the start of the raw message."""

    SCROLLER = "#body"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="skipped_mail.back"),
        Binding("i", "ingest", "Ingest anyway (a real customer)", id="skipped_mail.ingest"),
    ]
    DEFAULT_CSS = """
    SkippedMailScreen #body { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    SkippedMailScreen #fields { height: auto; }
    SkippedMailScreen .field { height: auto; }
    SkippedMailScreen .field > .label { width: 12; color: $accent; text-style: bold; }
    SkippedMailScreen .field > .value { width: 1fr; }
    SkippedMailScreen #raw-title { margin-top: 1; color: $text-muted; }
    """

    class Loaded(Message):
        def __init__(self, detail: dict[str, Any]) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, skipped_id: int) -> None:
        super().__init__()
        self.skipped_id = skipped_id
        self.detail: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(f"Skipped mail {self.skipped_id}"), id="title")
        with VerticalScroll(id="body"):
            yield Vertical(Static(Content("loading…")), id="fields")
            yield Static(Content(""), id="raw-title")
            yield Static(Content(""), id="raw")
        yield StatusBar("i ingest anyway  j/k scroll  esc back  ? help")

    def on_mount(self) -> None:
        self.query_one("#body").focus()
        self._load()

    @work(
        thread=True,
        exclusive=True,
        group="skipped-mail",
        exit_on_error=False,
        description="reading the skipped mail",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(queries.skipped_detail(self.skipped_id, RAW_SHOWN)))

    def on_skipped_mail_screen_loaded(self, message: Loaded) -> None:
        detail = self.detail = message.detail
        fields = self.query_one("#fields", Vertical)
        fields.remove_children()
        fields.mount_all(
            Horizontal(
                Static(Content(label), classes="label"),
                Static(Content(value), classes="value"),
                classes="field",
            )
            for label, value in field_rows(detail)
        )
        if detail["raw_error"]:
            title = one_line(detail["raw_error"])
        elif detail["raw_size"] is None:
            title = "The raw message was not kept."
        elif detail["raw_size"] > RAW_SHOWN:
            title = (
                f"The raw message, its first {human_size(RAW_SHOWN)} of "
                f"{human_size(detail['raw_size'])} (control characters removed):"
            )
        else:
            title = "The raw message, as fetched (control characters removed):"
        self.query_one("#raw-title", Static).update(Content(title))
        self.query_one("#raw", Static).update(Content(clean(detail["raw_text"])))

    def action_ingest(self) -> None:
        if ingest_anyway(self, self.skipped_id):
            self.app.pop_screen()
