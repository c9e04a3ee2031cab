"""The triage questions asked of several conversations at once (the marked ones on the list):
the same status menu and prompts as for one (screens/triage_prompts), each answer applied to
all of them through `triage.for_all`, so the change is all or nothing and one `u` undoes it
whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import BindingType

from deskterm.desk import triage
from deskterm.desk.undo import describe
from deskterm.outbound import resolved
from deskterm.sanitize import one_line
from deskterm.screens.agent_prompt import AgentPrompt
from deskterm.screens.dialog import Dialog
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.triage_prompts import (
    ASSIGN_HINT,
    TAGS_HINT,
    LetterMenu,
    StatusMenu,
    ask_and_apply,
    history,
    letter_bindings,
)
from deskterm.store.models import PRIORITIES

if TYPE_CHECKING:
    from deskterm.app import DeskApp


def how_many(ids: list[int]) -> str:
    return f"{len(ids)} conversation{'s' if len(ids) != 1 else ''}"


class BulkMenu(LetterMenu):
    """A letter menu for the marked conversations (they have no one current value)."""

    WHAT: ClassVar[str]

    def __init__(self, ids: list[int]) -> None:
        super().__init__(None)
        self.ids = ids

    def heading(self) -> str:
        return f"{self.WHAT} of {how_many(self.ids)}:"


class BulkStatusMenu(BulkMenu):
    """The status menu (o, p, r, c), for the marked conversations."""

    WHAT = "Status"
    CHOICES = StatusMenu.CHOICES
    BINDINGS = StatusMenu.BINDINGS


class PriorityMenu(BulkMenu):
    """Pick a priority with its first letter (n, h, l) for the marked conversations."""

    WHAT = "Priority"
    CHOICES = PRIORITIES
    BINDINGS: ClassVar[list[BindingType]] = letter_bindings("priority", PRIORITIES)


def _apply(
    desk: DeskApp,
    ids: list[int],
    prompt: Dialog[str | None],
    doing: str,
    change: Callable[..., object],
    field: str,
    then: Callable[[], None],
) -> None:
    """Ask once, apply the answer to every marked conversation (Esc: nothing), say so."""

    def apply(answer: str) -> str:
        triage.for_all(ids, change, answer, history=history(desk))
        if field == "tags":
            return f"{how_many(ids)}: tags changed ({one_line(answer)})."
        if field == "assignee":  # the handle stored, not what was typed ("@SAM", an address)
            answer = str(triage.state(ids[0])["assignee"] or "")
        return f"{how_many(ids)} now {describe(field, one_line(answer) or None)}."

    ask_and_apply(desk, prompt, doing, apply, then)


def bulk_status(desk: DeskApp, ids: list[int], then: Callable[[], None]) -> None:
    _apply(desk, ids, BulkStatusMenu(ids), "change the status", resolved.set_status, "status", then)


def bulk_priority(desk: DeskApp, ids: list[int], then: Callable[[], None]) -> None:
    prompt = PriorityMenu(ids)
    _apply(desk, ids, prompt, "change the priority", triage.set_priority, "priority", then)


def bulk_assign(desk: DeskApp, ids: list[int], then: Callable[[], None]) -> None:
    with desk.reporting("list the agents"):
        prompt = AgentPrompt(f"Assign {how_many(ids)} to:", "", ASSIGN_HINT)
        _apply(desk, ids, prompt, "assign the conversations", triage.assign, "assignee", then)


def bulk_tags(desk: DeskApp, ids: list[int], then: Callable[[], None]) -> None:
    prompt = PromptScreen(f"Tags of {how_many(ids)}:", "", TAGS_HINT)
    _apply(desk, ids, prompt, "change the tags", triage.change_tags, "tags", then)


def bulk_unread(desk: DeskApp, ids: list[int], then: Callable[[], None]) -> None:
    """Mark them all unread (to come back to), or all read when they all are unread."""
    with desk.reporting("mark the conversations"):
        unread = not all(triage.state(cid)["unread"] for cid in ids)
        triage.for_all(ids, triage.mark_read, not unread, history=history(desk))
        desk.notify(f"{how_many(ids)} now {'unread' if unread else 'read'}.", markup=False)
        then()
