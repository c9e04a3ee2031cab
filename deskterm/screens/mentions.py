"""`@` from the list: the notes that mention the agent at this keyboard, unseen first.

Read by a thread worker (`notes.mentions`, seen ones too, after the unseen) and drawn as a
table; the highlighted note is shown whole below it. Enter opens its conversation, which
marks the agent's mentions in it seen (the thread does, however it is opened), so coming back
here shows them seen. A note is another agent's input: `cell`/`one_line` and `Content` from
plain strings, never markup.
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

from deskterm.desk import notes
from deskterm.errors import NotFound
from deskterm.sanitize import clean, one_line
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.screens.words import tui_words
from deskterm.widgets.status_bar import StatusBar


class MentionsScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="mentions.back"),
        Binding("enter", "open", "Open the conversation", id="mentions.open", priority=True),
        Binding("ctrl+r", "reload", "Reload", id="mentions.reload"),
    ]
    FOLLOWS_DESK = True
    EMPTY_HINT = "Nobody has mentioned you in a note yet."
    DEFAULT_CSS = """
    MentionsScreen #note { max-height: 8; border-top: hkey $warning 50%; }
    """

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]], problem: str | None) -> None:
            super().__init__()
            self.rows = rows
            self.problem = problem  # why there is no list (no agent at this keyboard)

    def compose(self) -> ComposeResult:
        yield Static(Content("Mentions of you in notes (unseen first)"), id="title")
        yield row_table(
            (("", 1), ("#", 6), ("by", 16), ("subject", 28), ("note", None)),
            line=self.app.size.width,
        )
        yield Static(Content("loading…"), id="empty")
        yield Static(Content(""), id="note", classes="detail")
        yield StatusBar("enter open  esc back  ? help")

    def on_screen_resume(self) -> None:
        self._stale = True  # back from a thread: what it marked seen is shown so

    @work(
        thread=True,
        exclusive=True,
        group="mentions",
        exit_on_error=False,
        description="reading your mentions",
    )
    def _load(self) -> None:
        try:
            agent = notes.who()
        except NotFound as exc:
            self.post_message(self.Loaded([], str(exc)))
            return
        self.post_message(self.Loaded(notes.mentions(agent, include_seen=True), None))

    def on_mentions_screen_loaded(self, message: Loaded) -> None:
        self.fill(message.rows, self._cells, "id")
        empty = self.query_one("#empty", Static)
        empty.update(Content(one_line(tui_words(message.problem or self.EMPTY_HINT))))
        empty.set_class(bool(message.rows), "-hidden")

    @staticmethod
    def _cells(row: dict[str, Any]) -> list[Text]:
        style = "dim" if row["seen"] else "bold"
        note = row["note"]
        return [
            cell("" if row["seen"] else "•", "" if row["seen"] else "bold yellow"),
            cell(f"#{row['conversation']['id']}", style),
            cell(note["author_name"] or "an agent", style),
            cell(row["conversation"]["subject"] or "(no subject)", style),
            cell(note["text"], "dim" if row["seen"] else ""),
        ]

    def show_current(self) -> None:
        row = self.current
        text = Content("")
        if row is not None:
            note = row["note"]
            text = Content.assemble(
                (f"#{row['conversation']['id']} ", "bold"),
                one_line(row["conversation"]["subject"] or "(no subject)"),
                "\n",
                (f"Note by {one_line(note['author_name'] or 'an agent')} · internal", "bold"),
                "\n",
                clean(note["text"]).rstrip(),
            )
        self.query_one("#note", Static).update(text)

    def open_row(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self._selected()
        if row is not None:
            from deskterm.screens.thread import ThreadScreen

            self.app.push_screen(ThreadScreen(row["conversation"]["id"]))
