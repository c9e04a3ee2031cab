"""The list's sort and its saved views (a notmuch/aerc habit): part of ConversationsScreen,
kept apart so that screen stays about loading, searching and opening."""

from __future__ import annotations

from textual.widgets import Input

from deskterm.desk import list_index, views
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen


class ListViews:
    """Sort and named views of the conversation list (mixed into ConversationsScreen)."""

    def order_name(self) -> str:
        return list_index.ORDERS[self.order]

    def action_next_order(self) -> None:
        orders = list(list_index.ORDERS)
        if not self.conversations.extras.due:  # no SLA policy: nothing is due, "due first" is moot
            orders.remove("due")
            if self.order not in orders:
                orders.insert(0, self.order)
        self.order = orders[(orders.index(self.order) + 1) % len(orders)]
        self.conversations.unpin()
        self.notify(f"Sorted by {self.order_name()}.", markup=False)
        self.reload()

    def action_save_view(self) -> None:
        def answered(answer: str | None) -> None:
            if answer is None:
                return
            with self.desk.reporting("save the view"):
                view = views.View(self.status, self.search, dict(self.filters), self.order)
                name = views.save(answer, view)
                self.notify(f"View {name!r} saved.", markup=False)

        self.app.push_screen(
            PromptScreen(
                "Save this search, filters and sort as the view:",
                "",
                "A name; a view of that name is replaced. v switches views. Esc cancels.",
            ),
            answered,
        )

    def action_switch_view(self) -> None:
        with self.desk.reporting("read the views"):
            saved = views.load()
            if not saved:
                self.notify("No view saved yet: V saves the list as it is.", markup=False)
                return

            def answered(answer: str | None) -> None:
                if not answer:
                    return
                with self.desk.reporting("switch views"):
                    self.show_view(views.get(answer.strip()))

            self.app.push_screen(
                PromptScreen(
                    "Switch to the view:",
                    "",
                    f"Saved: {', '.join(one_line(name) for name in saved)}. Esc cancels.",
                ),
                answered,
            )

    def show_view(self, view: views.View) -> None:
        """Show the list as a view says: its tab, filters, search and order."""
        box = self.query_one("#search", Input)
        box.value = view.search
        box.set_class(not view.search, "-hidden")
        if self._search_timer is not None:
            self._search_timer.stop()
        self.set_focus(self.conversations)
        self.status, self.search, self.filters = view.status, view.search, dict(view.filters)
        self.order = view.order if view.order in list_index.ORDERS else list_index.DEFAULT_ORDER
        self.conversations.unpin()
        self.reload()
