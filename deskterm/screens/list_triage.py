"""Triage from the conversation list: one conversation under the cursor, or every marked one
at once; part of ConversationsScreen. Every change goes through screens/triage_prompts or
screens/bulk_prompts (and so through deskterm.desk.triage, with undo)."""

from __future__ import annotations

from collections.abc import Callable

from deskterm.screens.bulk_prompts import (
    bulk_assign,
    bulk_priority,
    bulk_status,
    bulk_tags,
    bulk_unread,
)
from deskterm.screens.triage_prompts import (
    ask_assignee,
    ask_status,
    ask_tags,
    assign_to_me,
    cycle_priority,
    toggle_unread,
    undo_last,
)
from deskterm.widgets.conversation_list import ConversationList
from deskterm.widgets.filter_bar import FilterBar


class ListTriage:
    """The list's triage keys (mixed into ConversationsScreen)."""

    def _triaged(self, conversation_id: int) -> Callable[[], None]:
        """What runs after a triage change: the conversation stays under the cursor (marked
        when it left the filter) until the agent moves, and the list and counts reload."""

        def then() -> None:
            self.conversations.pin(conversation_id)
            self.reload()

        return then

    def _current_row(self) -> dict[str, object]:
        return self.conversations.row(self.conversations.cursor) or {}

    def _marked(self) -> list[int]:
        """The marked conversations (for a bulk change), in the list's order where shown."""
        marked = self.conversations.marked
        if not marked:  # every triage key asks: no walk over a 100,000-row list for nothing
            return []
        order = {cid: index for index, cid in enumerate(self.conversations.ids)}
        return sorted(marked, key=lambda cid: (order.get(cid, len(order)), cid))

    def on_conversation_list_marks_changed(self, message: ConversationList.MarksChanged) -> None:
        self.query_one(FilterBar).marked = len(self.conversations.marked)

    def action_status(self) -> None:
        if marked := self._marked():
            bulk_status(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            current = self._current_row().get("status")
            ask_status(
                self.desk, conversation_id, str(current or ""), self._triaged(conversation_id)
            )

    def action_cycle_priority(self) -> None:
        if marked := self._marked():
            bulk_priority(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            cycle_priority(self.desk, conversation_id, self._triaged(conversation_id))

    def action_assign(self) -> None:
        if marked := self._marked():
            bulk_assign(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            current = self._current_row().get("assignee")
            then = self._triaged(conversation_id)
            ask_assignee(self.desk, conversation_id, str(current or ""), then)

    def action_assign_to_me(self) -> None:
        if marked := self._marked():
            assign_to_me(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            assign_to_me(self.desk, [conversation_id], self._triaged(conversation_id))

    def action_tags(self) -> None:
        if marked := self._marked():
            bulk_tags(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            ask_tags(self.desk, conversation_id, self._triaged(conversation_id))

    def action_toggle_unread(self) -> None:
        if marked := self._marked():
            bulk_unread(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            toggle_unread(self.desk, conversation_id, self._triaged(conversation_id))

    def action_undo(self) -> None:
        undo_last(self.desk, self.reload)

    def action_macro(self) -> None:
        """`x`: a macro on the marked conversations (one undo), else the one under the
        cursor; its template is inserted only from a thread, so nothing is sent from here."""
        from deskterm.screens.macro_prompt import ask_macro

        if marked := self._marked():
            ask_macro(self.desk, marked, self.reload)
            return
        conversation_id = self._current()
        if conversation_id is not None:
            ask_macro(self.desk, [conversation_id], self._triaged(conversation_id))
