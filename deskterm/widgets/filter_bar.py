"""The line above the list: which status is shown, how many there are, the channel,
assignee and tag filters, and the search.

At 80 columns with 5-digit counts the tabs alone fill the line; the search term and its hit
count are what the agent is looking at, so the tabs' labels shorten (then go) to leave them
room, and the term and count are never cut to make the tabs fit.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from deskterm.desk import status as lifecycle
from deskterm.sanitize import one_line

FILTERS = (*lifecycle.STATUSES, "all")
SHORT = {"open": "Open", "pending": "Pend", "resolved": "Res", "closed": "Clo", "all": "All"}


def tab_label(number: int, name: str, count: int, level: int) -> str:
    """One tab's label, shorter at each level: "2 Pending 12", "2 Pend 12", "2:12"."""
    if level == 0:
        return f"{number} {name.capitalize()} {count}"
    if level == 1:
        return f"{number} {SHORT[name]} {count}"
    return f"{number}:{count}"


class FilterBar(Widget):
    DEFAULT_CSS = """
    FilterBar { height: 1; padding: 0 1; background: $boost; }
    """

    status: reactive[str] = reactive("open")
    search: reactive[str] = reactive("")
    counts: reactive[dict[str, int]] = reactive(dict, always_update=True)
    filters: reactive[str] = reactive("")  # "channel:x tag:y", as the agent set them
    shown: reactive[int | None] = reactive(None)  # rows matching, when filtered or searching
    order: reactive[str] = reactive("")  # the list's sort, when not the default
    marked: reactive[int] = reactive(0)  # conversations marked for a bulk change

    def tail(self) -> list[tuple[str, str]]:
        """What follows the tabs: the sort, the filters, the search and the hit count."""
        parts: list[tuple[str, str]] = []
        found = "" if self.shown is None else f": {self.shown}"
        if self.marked:
            parts.append((f"{self.marked} marked", "bold reverse"))
        if self.order:
            parts.append((f"↕{self.order}", "bold"))
        if self.filters:
            parts.append((one_line(self.filters) + ("" if self.search else found), "bold"))
        if self.search:
            parts.append((f"/{one_line(self.search)}{found}", "bold"))
        return parts

    def render(self) -> Content:
        width = self.size.width
        tail = self.tail()
        tail_width = sum(cell_len(text) for text, _ in tail) + 2 * len(tail)
        tabs: list[tuple[str, str]] = []
        # The widest tabs that leave the tail its room; at the last level only the current tab.
        for level, gap, every in ((0, "  ", True), (1, " ", True), (2, " ", True), (0, " ", False)):
            tabs = []
            for number, name in enumerate(FILTERS, start=1):
                if not every and name != self.status:
                    continue
                label = tab_label(number, name, self.counts.get(name, 0), level)
                tabs.append((label, "reverse bold" if name == self.status else "dim"))
                tabs.append((gap, ""))
            if sum(len(text) for text, _ in tabs) + tail_width <= width:
                break
        parts: list[str | tuple[str, str]] = [*tabs]
        for text, style in tail:
            parts.append((text, style))
            parts.append("  ")
        return Content.assemble(*parts).truncate(width, ellipsis=True)
