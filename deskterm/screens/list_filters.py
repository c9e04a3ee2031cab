"""The list's status tabs (1-5, f) and its filters by channel, assignee, tag, type or field (F,
A, 0): part of ConversationsScreen, kept apart so that screen stays about loading, searching
and opening. What a filter means is deskterm.desk.filters'.
"""

from __future__ import annotations

from deskterm.desk import views
from deskterm.desk.filters import FILTER_KEYS, OWNERS, next_owner, parse_filters
from deskterm.screens.prompt import PromptScreen
from deskterm.widgets.filter_bar import FILTERS


class ListFilters:
    """The list's tab and filter keys (mixed into ConversationsScreen, which has `status`,
    `filters`, `order`, `reload` and, from ListViews, `show_view`)."""

    def action_filter(self, status: str) -> None:
        self.status = status
        self.conversations.unpin()
        self.reload()

    def action_clear_filters(self) -> None:
        """Back to the list as it opens: the Open tab, no channel/assignee/tag filter, no
        search."""
        self.show_view(views.View(order=self.order))  # the sort is kept

    def action_next_filter(self) -> None:
        self.action_filter(FILTERS[(FILTERS.index(self.status) + 1) % len(FILTERS)])

    def filter_text(self) -> str:
        return " ".join(f"{key}:{self.filters[key]}" for key in FILTER_KEYS if key in self.filters)

    def action_filter_more(self) -> None:
        def answered(answer: str | None) -> None:
            if answer is None:
                return
            with self.desk.reporting("filter the list"):
                self.filters = parse_filters(answer)  # unknown channels, agents: refused
                self.conversations.unpin()
                self.reload()

        self.app.push_screen(
            PromptScreen(
                "Show only conversations matching:",
                self.filter_text(),
                "channel:NAME assignee:HANDLE (me, none) tag:NAME type:NAME field:NAME=VALUE, "
                "any of them; empty shows all. Esc cancels.",
            ),
            answered,
        )

    def action_next_owner(self) -> None:
        """`A`: All -> Mine -> Unassigned -> All (the assignee filter; `F` names any agent)."""
        owner = next_owner(self.filters.get("assignee"))
        filters = {k: v for k, v in self.filters.items() if k != "assignee"}
        self.filters = {**filters, "assignee": owner} if owner else filters
        self.notify(f"Showing {OWNERS[owner].lower()} conversations.", markup=False)
        self.conversations.unpin()
        self.reload()
