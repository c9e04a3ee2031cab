"""Logging time by hand from a thread (`L`: `t` already folds quotes): the same entry as
`deskterm time add ID 15m --note ...`, typed as "15m call with the customer"; and `E`, the
conversation's entries, to correct or remove (screens/time_entries, `deskterm time list`)."""

from __future__ import annotations

from typing import Any

from deskterm.desk import time_spent
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.time_entries import TimeEntriesScreen

HINT = "A length (15m, 1h30m, 1.5h, 1:30), then what it went on. Esc cancels."


class ThreadTime:
    """Mixed into ThreadScreen, which has `conversation_id`, `reload` and the app."""

    def action_log_time(self) -> None:
        screen: Any = self

        def answered(text: str | None) -> None:
            if not text or not text.strip():
                return
            length, _, note = text.strip().partition(" ")
            with screen.desk.reporting("log the time"):
                seconds = time_spent.parse_duration(length)
                entry = time_spent.add(screen.conversation_id, seconds, note=note)
                screen.notify(f"Logged {entry['spent']}.", markup=False)
                screen.reload()

        screen.app.push_screen(PromptScreen("Log time spent:", "", HINT), answered)

    def action_time_entries(self) -> None:
        screen: Any = self
        # Back from it, the header's total is read again at once, as after `L`.
        screen.app.push_screen(TimeEntriesScreen(screen.conversation_id), lambda _: screen.reload())
