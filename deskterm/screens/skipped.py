"""Mail that did not become a conversation message, and why (auto-replies, filters, ...)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm import queries
from deskterm.sanitize import one_line
from deskterm.screens.base import DeskScreen
from deskterm.widgets.status_bar import StatusBar


class SkippedScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="skipped.back"),
    ]
    DEFAULT_CSS = """
    SkippedScreen #title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    SkippedScreen #rows { padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]]) -> None:
            super().__init__()
            self.rows = rows

    def compose(self) -> ComposeResult:
        yield Static(Content("Skipped mail (newest first)"), id="title")
        with VerticalScroll():
            yield Static(Content("loading…"), id="rows")
        yield StatusBar("esc back  ? help")

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="reading skipped mail")
    def _load(self) -> None:
        self.post_message(self.Loaded(queries.skipped_list(500)))

    def on_skipped_screen_loaded(self, message: Loaded) -> None:
        if not message.rows:
            self.query_one("#rows", Static).update(Content("No mail was skipped."))
            return
        blocks = []
        for row in message.rows:
            blocks.append(
                Content.assemble(
                    (one_line(row["reason"]), "bold $warning"),
                    f"  {row['at'] or ''}  {one_line(row['channel'] or '')}\n",
                    (f"  from {one_line(row['from'] or '(unknown)')}\n", "dim"),
                    f"  {one_line(row['subject'] or '(no subject)')}",
                )
            )
        self.query_one("#rows", Static).update(Content("\n\n").join(blocks))
