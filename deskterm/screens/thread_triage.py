"""Triage from a thread: the keys that change the open conversation (s, P, N, u, a, m, T, x),
each through screens/triage_prompts (and so deskterm.desk.triage, with undo) or, for `x`,
screens/macro_prompt. Part of ThreadScreen, as ListTriage is of the list, kept apart so the
thread stays about reading.
"""

from __future__ import annotations

from deskterm.screens.triage_prompts import (
    ask_assignee,
    ask_status,
    ask_tags,
    assign_to_me,
    cycle_priority,
    toggle_unread,
    undo_last,
)


class ThreadTriage:
    """The thread's triage keys (mixed into ThreadScreen, which has `conversation_id`,
    `detail`, `reload` and the app)."""

    def action_status(self) -> None:
        current = self.detail.get("status") if self.detail else None
        ask_status(self.desk, self.conversation_id, current, self.reload)

    def action_cycle_priority(self) -> None:
        cycle_priority(self.desk, self.conversation_id, self.reload)

    def action_toggle_unread(self) -> None:
        toggle_unread(self.desk, self.conversation_id, self.reload)

    def action_undo(self) -> None:
        undo_last(self.desk, self.reload)

    def action_assign(self) -> None:
        current = self.detail.get("assignee") if self.detail else None
        ask_assignee(self.desk, self.conversation_id, current, self.reload)

    def action_assign_to_me(self) -> None:
        assign_to_me(self.desk, [self.conversation_id], self.reload)

    def action_macro(self) -> None:
        from deskterm.screens.compose import ComposeScreen
        from deskterm.screens.macro_prompt import ask_macro

        def compose_with(text: str) -> None:
            self.app.push_screen(ComposeScreen(self.conversation_id, insert=text))

        ask_macro(self.desk, [self.conversation_id], self.reload, compose_with)

    def action_tags(self) -> None:
        ask_tags(self.desk, self.conversation_id, self.reload)
