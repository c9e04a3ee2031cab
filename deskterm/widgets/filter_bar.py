"""The line above the list: which status is shown, how many there are, the channel,
assignee and tag filters, and the search."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from deskterm.desk import status as lifecycle
from deskterm.sanitize import one_line

FILTERS = (*lifecycle.STATUSES, "all")


class FilterBar(Widget):
    DEFAULT_CSS = """
    FilterBar { height: 1; padding: 0 1; background: $boost; }
    """

    status: reactive[str] = reactive("open")
    search: reactive[str] = reactive("")
    counts: reactive[dict[str, int]] = reactive(dict, always_update=True)
    filters: reactive[str] = reactive("")  # "channel:x tag:y", as the agent set them
    shown: reactive[int | None] = reactive(None)  # rows matching, when filtered or searching

    def render(self) -> Content:
        parts: list[str | tuple[str, str]] = []
        for number, name in enumerate(FILTERS, start=1):
            label = f"{number} {name.capitalize()} {self.counts.get(name, 0)}"
            parts.append((label, "reverse bold" if name == self.status else "dim"))
            parts.append("  ")
        found = "" if self.shown is None else f": {self.shown}"
        if self.filters:
            parts.append((one_line(self.filters) + ("" if self.search else found), "bold"))
            parts.append("  ")
        if self.search:
            parts.append((f"/{one_line(self.search)}{found}", "bold"))
        return Content.assemble(*parts).truncate(self.size.width, ellipsis=True)
