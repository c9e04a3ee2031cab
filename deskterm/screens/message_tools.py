"""The thread's message tools: a message's links (numbered, as urlview lists them) and its
stored source in a scrolling screen.

Both show text from a mail: links through `one_line`, the source through `sanitize.clean`
(done by `desk.message_tools`), always as `Content`, never as markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.widgets import Log, OptionList, Static
from textual.widgets.option_list import Option

from deskterm.desk import message_tools as tools
from deskterm.outbound import forward
from deskterm.sanitize import one_line
from deskterm.screens.base import ReadingScreen
from deskterm.screens.dialog import Dialog
from deskterm.screens.prompt import PromptScreen
from deskterm.widgets.message_view import MessageView
from deskterm.widgets.status_bar import StatusBar

SHOWN_URL_CHARS = 300  # a longer link is shown cut (it is opened whole)


class LinksScreen(Dialog[str | None]):
    """Pick one of a message's links: returns it, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="links.cancel"),
        *(
            Binding(str(n), f"pick({n})", f"Open link {n}", id=f"links.{n}", show=False)
            for n in range(1, 10)
        ),
    ]
    DEFAULT_CSS = """
    LinksScreen > .box { width: 90%; max-height: 80%; }
    LinksScreen OptionList { height: auto; max-height: 16; }
    LinksScreen OptionList, LinksScreen OptionList:focus { border: none; padding: 0; }
    """

    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self.urls = urls

    def compose(self) -> ComposeResult:
        width = len(str(len(self.urls)))
        options = [
            Option(Content(f"{n:>{width}} {_shown(url)}"), id=str(n - 1))
            for n, url in enumerate(self.urls, start=1)
        ]
        with Vertical(classes="box") as box:
            box.border_title = "Links in this message"
            yield OptionList(*options)
            yield Static(
                Content("Enter or a digit opens it with the system opener; esc cancels."),
                classes="hint",
            )

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.urls[int(event.option.id or 0)])

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self.urls):
            self.dismiss(self.urls[number - 1])

    def action_cancel(self) -> None:
        self.dismiss(None)


def _shown(url: str) -> str:
    url = one_line(url)
    return url if len(url) <= SHOWN_URL_CHARS else url[: SHOWN_URL_CHARS - 1] + "…"


class SourceScreen(ReadingScreen):
    """A message's stored source, as plain text, scrolled with a pager's keys.

    Drawn by a `Log`, which lays out only the lines on screen (and never parses markup): a
    source is up to `SOURCE_CHARS` long, and one `Static` of that much text took seconds to
    wrap at every open and every resize. Lines are not wrapped (mail lines are short; left and
    right scroll a longer one)."""

    SCROLLER = "#source"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="source.back"),
    ]
    DEFAULT_CSS = """
    SourceScreen #source { height: 1fr; scrollbar-size-vertical: 1; padding: 0 1; }
    """

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(Content(one_line(self.title_text)), id="title")
        yield Log(auto_scroll=False, id="source")
        yield StatusBar("esc back  j k space scroll  ? help")

    def on_mount(self) -> None:
        source = self.query_one("#source", Log)
        source.write(self.text)
        source.focus()

    def action_back(self) -> None:
        self.app.pop_screen()


class MessageTools:
    """The thread's actions on one message (the focused one, see `focused_message`): its
    links, its source, its HTML part in the browser, a forward. Mixed into ThreadScreen."""

    SCROLLER: ClassVar[str]

    def focused_message(self) -> tuple[int, dict[str, Any]] | None:
        """(index, message) of the message the agent is reading: the first whose header is on
        screen (the last one once scrolled to the end), else the one filling the screen."""
        screen: Any = self
        views = list(screen.query(MessageView))
        if not views:
            return None
        box = screen.query_one(screen.SCROLLER, ScrollableContainer)
        area = box.content_region
        headed = [
            i for i, v in enumerate(views) if v.region and area.contains(v.region.x, v.region.y)
        ]
        if headed:
            at_end = box.scroll_y >= box.max_scroll_y
            index = headed[-1] if at_end and box.max_scroll_y > 0 else headed[0]
        else:
            index = next(
                (i for i, v in enumerate(views) if v.region and area.overlaps(v.region)), 0
            )
        return index, views[index].message

    def _focused(self) -> tuple[int, dict[str, Any]] | None:
        """(stored id, message) of the message the agent is reading (see `focused_message`)."""
        screen: Any = self
        focused = self.focused_message()
        if focused is None:
            screen.notify("There is no message here.", markup=False)
            return None
        index, message = focused
        ids = tools.message_ids(screen.conversation_id)
        return (ids[index], message) if index < len(ids) else None

    def _focused_id(self) -> int | None:
        focused = self._focused()
        return focused[0] if focused is not None else None

    def action_links(self) -> None:
        screen: Any = self
        focused = self._focused()
        if focused is None:
            return
        message_id, message = focused
        urls = tools.message_links(message_id, message.get("text") or "")
        if not urls:
            screen.notify("This message has no links.", markup=False)
            return

        def chosen(url: str | None) -> None:
            if url is None:
                return
            with screen.desk.reporting("open the link"):
                tools.open_link(url)
                screen.notify(f"Opened {_shown(url)} with the system opener.", markup=False)

        screen.app.push_screen(LinksScreen(urls), chosen)

    def action_source(self) -> None:
        screen: Any = self
        message_id = self._focused_id()
        if message_id is None:
            return
        with screen.desk.reporting("show the message's source"):
            text = tools.source(message_id)
            if text is None:
                screen.notify("The desk did not keep this message's source.", markup=False)
                return
            screen.app.push_screen(SourceScreen(f"Source of message {message_id}", text))

    def action_open_html(self) -> None:
        screen: Any = self
        message_id = self._focused_id()
        if message_id is None:
            return
        with screen.desk.reporting("open the HTML part"):
            tools.open_html(message_id)
            screen.notify("Opened the HTML part with the system opener.", markup=False)

    def action_forward(self) -> None:
        screen: Any = self
        message_id = self._focused_id()
        if message_id is None:
            return

        def answered(address: str | None) -> None:
            if address is None or not address.strip():
                return
            with screen.desk.reporting("forward the message"):
                queued = forward.queue_forward(message_id, address)
                screen.notify(
                    f"Forward to {one_line(', '.join(queued.to))} queued; the outbox sends it.",
                    markup=False,
                )
                screen.desk.schedule_refresh()  # the thread shows the forward queued

        screen.app.push_screen(
            PromptScreen(
                "Forward this message, with its attachments, to:",
                "",
                "An email address (name@example.com). Esc cancels.",
            ),
            answered,
        )
