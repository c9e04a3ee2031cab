"""The main screen: the conversation list with its status filter and search.

The matching ids are loaded by a thread worker (one query, even at 100,000 conversations) and
handed to the list as a message; every load carries a generation number so that a slow,
superseded search can never overwrite a newer one. Triage keys call `deskterm.desk.triage`
(through screens/triage_prompts); the conversation the agent triaged stays under the cursor,
marked, until they move, even when it no longer matches the filter, so the next key acts on it
again and never on whichever conversation slid up into its place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

from deskterm.desk import list_index, sla_policies
from deskterm.desk.filters import described
from deskterm.screens.base import DeskScreen
from deskterm.screens.list_filters import ListFilters
from deskterm.screens.list_triage import ListTriage
from deskterm.screens.list_views import ListViews
from deskterm.widgets.conversation_list import PAGE, ConversationList
from deskterm.widgets.empty_desk import EmptyDeskHint
from deskterm.widgets.filter_bar import FILTERS, FilterBar
from deskterm.widgets.list_columns import ColumnHeader, Extras
from deskterm.widgets.status_bar import StatusBar

SEARCH_DELAY = 0.15  # seconds of quiet typing before the search runs


class ConversationsScreen(ListFilters, ListViews, ListTriage, DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority bindings run as the app reads the key, before the keys queued behind it:
        # what is typed right after "/" (or after Enter, Esc) lands where the agent meant.
        Binding("slash", "search", "Search", id="list.search", priority=True),
        Binding(
            "enter",
            "keep_search",
            "Search: keep it, back to the list",
            id="list.keep_search",
            priority=True,
        ),
        Binding(
            "escape", "clear_search", "Search: clear it", id="list.clear_search", priority=True
        ),
        Binding("s", "status", "Status (o/p/r/c)", id="conversation.status"),
        Binding("p,P", "cycle_priority", "Priority", id="conversation.priority"),
        Binding("a", "assign", "Assign", id="conversation.assign"),
        Binding("m", "assign_to_me", "Assign to me", id="conversation.assign_to_me"),
        Binding("r", "reply", "Reply", id="conversation.reply"),
        Binding("O", "outbox", "Outbox", id="list.outbox"),
        Binding("at", "mentions", "Mentions of you in notes", id="list.mentions"),
        Binding("1", "filter('open')", "Show open", id="filter.open"),
        Binding("2", "filter('pending')", "Show pending", id="filter.pending"),
        Binding("3", "filter('resolved')", "Show resolved", id="filter.resolved"),
        Binding("4", "filter('closed')", "Show closed", id="filter.closed"),
        Binding("5", "filter('all')", "Show all", id="filter.all"),
        Binding("0", "clear_filters", "Clear every filter and the search", id="filter.clear"),
        Binding("o", "next_order", "Sort: newest, oldest waiting, priority, due", id="list.order"),
        Binding("v", "switch_view", "Switch to a saved view", id="list.view"),
        Binding("V", "save_view", "Save search, filters and sort as a view", id="list.save_view"),
        Binding("f", "next_filter", "Next filter", id="filter.next"),
        Binding("F", "filter_more", "Filter by channel, assignee, tag", id="filter.more"),
        Binding("A", "next_owner", "Show mine, unassigned, all", id="filter.owner"),
        Binding("T", "tags", "Tags", id="conversation.tags"),
        Binding("N", "toggle_unread", "Mark unread/read", id="conversation.unread"),
        Binding("u", "undo", "Undo the last triage change", id="conversation.undo"),
        Binding("x", "macro", "Apply a macro", id="conversation.macro"),
        Binding("S", "skipped", "Skipped mail", id="list.skipped"),
        Binding(
            "R", "app.reports", "Reports: volume, response times, time spent", id="list.reports"
        ),
        Binding("C", "app.channels", "Channels", id="list.channels"),
        Binding("M", "app.templates", "Templates (canned replies)", id="list.templates"),
        Binding("U", "app.organizations", "Customers: organizations", id="list.organizations"),
        Binding(
            "D", "app.policies", "Desk policies: rules, SLA, macros, types", id="list.policies"
        ),
        Binding("W", "app.worker", "Worker status", id="list.worker"),
        Binding("ctrl+r", "reload", "Reload", id="list.reload"),
        Binding("q", "app.quit", "Quit", id="app.quit_top"),
    ]
    DEFAULT_CSS = """
    ConversationsScreen #search { height: 1; border: none; padding: 0 1; }
    ConversationsScreen #search.-hidden { display: none; }
    """

    class Loaded(Message):
        """Part of a load: the ids to show (`whole` False: only the list's first rows, the
        rest follows), and/or the per-status counts, which come last."""

        def __init__(
            self,
            generation: int,
            ids: list[int] | None,
            counts: dict[str, int] | None = None,
            *,
            whole: bool = True,
            extras: Extras | None = None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.ids = ids
            self.counts = counts
            self.whole = whole
            self.extras = extras  # with the counts: the columns the desk needs

    def __init__(self) -> None:
        super().__init__()
        self.status = "open"
        self.search = ""
        self.filters: dict[str, str] = {}  # channel, assignee, tag, ... (filters.parse_filters)
        self.order = list_index.DEFAULT_ORDER  # one of list_index.ORDERS (`o` cycles)
        self.generation = 0
        self.shown = 0  # the generation whose list is on screen, maybe only its first rows
        self.loaded = 0  # the generation wholly on screen, counts too (tests wait on it)
        self._search_timer: Timer | None = None
        # The running load's generation and what stops its query (SQLite), for a newer one.
        self._load_running: tuple[int, Callable[[], None]] | None = None

    def compose(self) -> ComposeResult:
        yield FilterBar(id="filters")
        yield ColumnHeader()
        yield EmptyDeskHint()
        yield ConversationList(self.desk.clock, id="conversations")
        yield Input(
            placeholder="search subject, contact, text, notes or #id",
            id="search",
            classes="-hidden",
            select_on_focus=False,
        )
        yield StatusBar("/ search  s status  @ mentions  enter open  ? help", id="status")

    @property
    def conversations(self) -> ConversationList:
        return self.query_one(ConversationList)

    def on_mount(self) -> None:
        self.follow_desk()
        self.set_interval(60, self.conversations.refresh)  # ages move on
        self.conversations.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        # Textual then runs DeskScreen's handler too (every class in the MRO), which reloads.
        if self.loaded:  # back from a thread: its state may have changed
            self._stale = True

    # --- loading -----------------------------------------------------------------------

    def reload(self) -> None:
        self.generation += 1
        running = self._load_running
        if running is not None and running[0] < self.generation:
            running[1]()  # its answer is no longer wanted: stop its query now
        # Enough first rows of a search for any screen, before the whole list is gathered.
        rows = max(PAGE, 2 * self.conversations.scrollable_content_region.height)
        chosen = {**self.filters, "order": self.order}
        self._load(self.generation, self.status, self.search, chosen, rows)

    @work(
        thread=True,
        exclusive=True,
        group="list",
        exit_on_error=False,
        description="loading conversations",
    )
    def _load(
        self, generation: int, status: str, search: str, filters: dict[str, str], rows: int
    ) -> None:
        running = self._load_running
        if running is None or running[0] < generation:
            self._load_running = (generation, list_index.interrupter())
        if self.generation != generation:  # superseded before it could be stopped
            return
        narrowed = (status, filters.get("channel"), search or None)
        chosen = {key: filters.get(key) for key in ("assignee", "tag", "type", "field")}
        order = filters.get("order", list_index.DEFAULT_ORDER)
        try:
            # A search matching much of the desk: its first rows now, the whole list next
            # (those first rows are the newest: in another order the whole list comes at once).
            quick = search and order == list_index.DEFAULT_ORDER
            head = list_index.first_conversation_ids(rows, *narrowed, **chosen) if quick else None
            if head is not None:
                self.post_message(self.Loaded(generation, head, whole=False))
            self.post_message(
                self.Loaded(
                    generation, list_index.conversation_ids(*narrowed, **chosen, order=order)
                )
            )
            counts = list_index.status_counts()
            extras = Extras(due=sla_policies.any_defined(), channel=list_index.several_channels())
        except Exception as exc:
            if list_index.was_interrupted(exc) and self.generation != generation:
                return  # stopped by `reload`: a newer load is on its way
            raise
        self.post_message(self.Loaded(generation, None, counts, extras=extras))

    def on_conversations_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self.generation:
            return  # a newer filter or search is already on its way
        bar = self.query_one(FilterBar)
        if message.ids is not None:
            self.shown = message.generation
            self.conversations.show(message.ids, whole=message.whole)
            bar.status, bar.search = self.status, self.search
            bar.filters = described(self.filters)
            bar.order = "" if self.order == list_index.DEFAULT_ORDER else self.order_name()
            searched = self.search or self.filters
            bar.shown = len(message.ids) if searched and message.whole else None
        if message.counts is not None:
            self.loaded = message.generation
            if message.extras is not None and self.conversations.extras != message.extras:
                self.conversations.extras = self.query_one(ColumnHeader).extras = message.extras
                self.conversations.refresh()
                self.query_one(ColumnHeader).refresh()
            bar.counts = message.counts
            self.query_one(EmptyDeskHint).check(message.counts)

    # --- search -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The search keys act only where they mean something; elsewhere (None) the key goes
        on to the focused widget, e.g. "/" typed into the search box, Enter to the list."""
        if action not in ("search", "keep_search", "clear_search"):
            return True
        box = self.query_one("#search", Input)
        if action == "search":
            applies = self.focused is not box
        elif action == "keep_search":
            applies = self.focused is box
        else:
            applies = not box.has_class("-hidden")
        return True if applies else None

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("-hidden")
        # Focus now, not after the queue (as `focus()` does): keys typed right after "/"
        # are already queued and must land in the search, not trigger the list's keys.
        self.set_focus(box)

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        if box.has_class("-hidden"):
            return
        box.value = ""
        box.add_class("-hidden")
        self.set_focus(self.conversations)
        if self.search:
            self.search = ""
            self.reload()

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._run_search)

    def _run_search(self) -> None:
        search = self.query_one("#search", Input).value.strip()
        if search != self.search:
            self.conversations.unpin()
        self.search = search
        self.reload()

    def action_keep_search(self) -> None:
        """Enter in the search: run it now and go back to the list (Esc clears it)."""
        self._run_search()
        if self.search:
            self.set_focus(self.conversations)
        else:
            self.action_clear_search()

    # --- opening and triage ------------------------------------------------------------

    def on_conversation_list_selected(self, message: ConversationList.Selected) -> None:
        from deskterm.screens.thread import ThreadScreen

        # Triaged in the thread, it is still under the cursor when the agent comes back.
        self.conversations.pin(message.conversation_id)
        self.app.push_screen(ThreadScreen(message.conversation_id, self._neighbour))

    def _neighbour(self, conversation_id: int, step: int) -> int | None:
        """For the thread's J/K: the conversation `step` away in this list (its order and
        filter), put under the cursor and held there as an opened one is; None at an end."""
        ids = self.conversations.ids
        if conversation_id not in ids:
            return None
        index = ids.index(conversation_id) + step
        if not 0 <= index < len(ids):
            return None
        self.conversations.cursor = index
        self.conversations.pin(ids[index])
        return ids[index]

    def _current(self) -> int | None:
        conversation_id = self.conversations.current_id
        if conversation_id is None:
            self.notify("There is no conversation here.", severity="warning", markup=False)
        return conversation_id

    def action_reply(self) -> None:
        from deskterm.screens.compose import ComposeScreen

        conversation_id = self._current()
        if conversation_id is not None:
            self.app.push_screen(ComposeScreen(conversation_id))

    def action_outbox(self) -> None:
        from deskterm.screens.outbox import OutboxScreen

        self.app.push_screen(OutboxScreen())

    def action_mentions(self) -> None:
        from deskterm.screens.mentions import MentionsScreen

        self.app.push_screen(MentionsScreen())

    def action_skipped(self) -> None:
        from deskterm.screens.skipped import SkippedScreen

        self.app.push_screen(SkippedScreen())

    def action_reload(self) -> None:
        self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        for status in FILTERS:
            yield SystemCommand(
                f"Show {status} conversations",
                f"Filter the list to {status}",
                lambda status=status: self.action_filter(status),  # type: ignore[misc]
            )
        yield SystemCommand(
            "Search conversations", "Narrow the list as you type", self.action_search
        )
        yield SystemCommand(
            "Clear filters", "The Open tab, no filter, no search", self.action_clear_filters
        )
        yield SystemCommand(
            "Sort the list",
            "Newest activity, oldest waiting, priority, due first",
            self.action_next_order,
        )
        yield SystemCommand("Save view", "This search, filters and sort", self.action_save_view)
        yield SystemCommand("Switch view", "Show a saved view", self.action_switch_view)
        yield SystemCommand(
            "Skipped mail", "Mail that did not become a message, and why", self.action_skipped
        )
        yield SystemCommand("Reply", "Answer the selected conversation", self.action_reply)
        yield SystemCommand("Change status", "open, pending, resolved, closed", self.action_status)
        yield SystemCommand("Undo", "Undo the last triage change", self.action_undo)
        yield SystemCommand("Outbox", "Replies queued, sent and failed", self.action_outbox)
        yield SystemCommand("Mentions", "Notes that mention you (@)", self.action_mentions)
