"""The questions the list and a thread both ask: who has a conversation, its tags, and the
contact's other addresses.

Each is a one-line `PromptScreen`; Esc changes nothing, an answer goes to `deskterm.desk.triage`
(or `contacts`) and the outcome is said in one sentence, after which `then` redraws the
screen that asked. A refusal (an unknown tag syntax, ...) is the engine's own sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deskterm.desk import triage
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from deskterm.app import DeskApp


def ask_assignee(
    desk: DeskApp, conversation_id: int, current: str | None, then: Callable[[], None]
) -> None:
    def assign(answer: str) -> str:
        who = triage.assign(conversation_id, answer)
        return f"assigned to {who}" if who else "unassigned"

    prompt = PromptScreen(
        f"Assign #{conversation_id} to:",
        one_line(current or ""),
        "A name or address; leave empty for nobody. Esc cancels.",
    )
    _ask(desk, prompt, "assign the conversation", conversation_id, assign, then)


def ask_tags(desk: DeskApp, conversation_id: int, then: Callable[[], None]) -> None:
    def change(answer: str) -> str:
        now = triage.change_tags(conversation_id, answer)
        return f"tagged {', '.join(now)}" if now else "untagged"

    with desk.reporting("read the tags"):
        current = triage.tags(conversation_id)
        prompt = PromptScreen(
            f"Tags of #{conversation_id}: {', '.join(current) or 'none'}",
            "",
            "+tag or tag adds, -tag removes, e.g. +urgent -billing. Esc cancels.",
        )
        _ask(desk, prompt, "change the tags", conversation_id, change, then)


def ask_aliases(desk: DeskApp, contact: str, then: Callable[[], None]) -> None:
    """The contact's other addresses: add (merging) or remove them, as `contact alias`."""
    from deskterm.desk import contacts

    def answered(answer: str | None) -> None:
        if answer is None:
            return
        with desk.reporting("change the contact's addresses"):
            now = contacts.change_aliases(contact, answer)
            said = ", ".join(one_line(a) for a in now) if now else "no other address"
            desk.notify(f"{one_line(contact)}: {said}.", markup=False)
            then()

    with desk.reporting("read the contact"):
        current = contacts.describe(contact)["aliases"]
        prompt = PromptScreen(
            f"Other addresses of {one_line(contact)}: {', '.join(current) or 'none'}",
            "",
            "+address adds one (its mail and conversations join this contact), "
            "-address removes one. Esc cancels.",
        )
        desk.push_screen(prompt, answered)


def _ask(
    desk: DeskApp,
    prompt: PromptScreen,
    doing: str,
    conversation_id: int,
    change: Callable[[str], str],
    then: Callable[[], None],
) -> None:
    """Ask, apply the answer (Esc: nothing), and say what the conversation is now."""

    def answered(answer: str | None) -> None:
        if answer is None:
            return
        with desk.reporting(doing):
            desk.notify(f"#{conversation_id} is now {change(answer)}.", markup=False)
            then()

    desk.push_screen(prompt, answered)
