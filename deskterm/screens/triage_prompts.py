"""The questions the list and a thread both ask: a conversation's status, who has it, its
tags, and the contact's other addresses; and `u`, which undoes the latest of these changes.

The status is a small menu answered by one key (o, p, r, c), so a second `s` can never step
another conversation's status on; the others are a one-line `PromptScreen`. Esc changes
nothing, an answer goes to `deskterm.desk.triage` (or `contacts`) and the outcome is said in
one sentence, after which `then` redraws the screen that asked. A refusal (an unknown tag
syntax, ...) is the engine's own sentence. Every triage change is recorded in the session's
`History` (one per app), which `undo_last` takes back from, newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar
from weakref import WeakKeyDictionary

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Static

from deskterm.desk import status as lifecycle
from deskterm.desk import triage
from deskterm.desk.undo import History
from deskterm.outbound import resolved
from deskterm.sanitize import one_line
from deskterm.screens.agent_prompt import AgentPrompt
from deskterm.screens.dialog import Dialog
from deskterm.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from deskterm.app import DeskApp

# The prompts' hints, the same for one conversation and for the marked ones (bulk_prompts).
ASSIGN_HINT = "Tab completes a handle, ↓ picks from the list; empty for nobody. Esc cancels."
TAGS_HINT = "+tag or tag adds, -tag removes, e.g. +urgent -billing. Esc cancels."

_histories: WeakKeyDictionary[DeskApp, History] = WeakKeyDictionary()


def history(desk: DeskApp) -> History:
    """The triage changes of this app session, for `u`."""
    return _histories.setdefault(desk, History())


def letter_bindings(kind: str, choices: tuple[str, ...]) -> list[BindingType]:
    """A menu's keys: each choice by its first letter, Esc to cancel."""
    return [
        *(
            Binding(name[0], f"pick('{name}')", name.capitalize(), id=f"{kind}.{name}")
            for name in choices
        ),
        Binding("escape", "pick(None)", "Cancel", id=f"{kind}.cancel"),
    ]


class LetterMenu(Dialog[str | None]):
    """Pick one of CHOICES with its first letter; returns it, or None when cancelled."""

    CHOICES: ClassVar[tuple[str, ...]] = ()
    DEFAULT_CSS = """
    LetterMenu > .box { width: 34; }
    """

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current

    def heading(self) -> str:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        lines: list[str | tuple[str, str]] = [f"{self.heading()}\n"]
        for name in self.CHOICES:
            now = " (now)" if name == self.current else ""
            lines += [(f"  {name[0]}", "bold"), f"  {name}{now}\n"]
        lines.append(("Esc cancels.", "dim"))
        yield Static(Content.assemble(*lines), classes="box")

    def action_pick(self, choice: str | None) -> None:
        self.dismiss(choice)


class StatusMenu(LetterMenu):
    """Pick a status with its first letter; returns it, or None when cancelled."""

    CHOICES = lifecycle.STATUSES
    BINDINGS: ClassVar[list[BindingType]] = letter_bindings("status", lifecycle.STATUSES)

    def __init__(self, conversation_id: int, current: str | None) -> None:
        super().__init__(current)
        self.conversation_id = conversation_id

    def heading(self) -> str:
        return f"Status of #{self.conversation_id}:"


def ask_status(
    desk: DeskApp, conversation_id: int, current: str | None, then: Callable[[], None]
) -> None:
    def pick(answer: str) -> str:
        return resolved.set_status(conversation_id, answer, history=history(desk))

    _ask(
        desk, StatusMenu(conversation_id, current), "change the status", conversation_id, pick, then
    )


def cycle_priority(desk: DeskApp, conversation_id: int, then: Callable[[], None]) -> None:
    with desk.reporting("change the priority"):
        priority = triage.cycle_priority(conversation_id, history=history(desk))
        desk.notify(f"#{conversation_id} is now {priority} priority.", markup=False)
        then()


def toggle_unread(desk: DeskApp, conversation_id: int, then: Callable[[], None]) -> None:
    with desk.reporting("mark the conversation"):
        unread = triage.toggle_unread(conversation_id, history=history(desk))
        desk.notify(f"#{conversation_id} is now {'unread' if unread else 'read'}.", markup=False)
        then()


def undo_last(desk: DeskApp, then: Callable[[], None]) -> None:
    """`u`: put back what the latest triage change of this session replaced."""
    with desk.reporting("undo the last change"):
        said = triage.undo(history(desk))
        if said is None:
            desk.notify("There is no triage change to undo.", markup=False)
            return
        desk.notify(f"Undone: {said}", markup=False)
        then()


def ask_assignee(
    desk: DeskApp, conversation_id: int, current: str | None, then: Callable[[], None]
) -> None:
    def assign(answer: str) -> str:
        who = triage.assign(conversation_id, answer, history=history(desk))
        return f"assigned to {who}" if who else "unassigned"

    with desk.reporting("list the agents"):
        now = one_line(current or "") or "nobody"
        prompt = AgentPrompt(f"Assign #{conversation_id} (now {now}) to:", "", ASSIGN_HINT)
        _ask(desk, prompt, "assign the conversation", conversation_id, assign, then)


def assign_to_me(desk: DeskApp, conversation_ids: list[int], then: Callable[[], None]) -> None:
    """`m`: the conversation (or every marked one, as one undoable change) is the agent's own
    now; without a known agent, the sentence says how to become one."""
    with desk.reporting("assign to you"):
        triage.for_all(conversation_ids, triage.assign, "me", history=history(desk))
        handle = triage.state(conversation_ids[0])["assignee"]
        which = (
            f"#{conversation_ids[0]} is"
            if len(conversation_ids) == 1
            else f"{len(conversation_ids)} conversations are"
        )
        desk.notify(f"{which} now assigned to you ({handle}).", markup=False)
        then()


def ask_tags(desk: DeskApp, conversation_id: int, then: Callable[[], None]) -> None:
    def change(answer: str) -> str:
        now = triage.change_tags(conversation_id, answer, history=history(desk))
        return f"tagged {', '.join(now)}" if now else "untagged"

    with desk.reporting("read the tags"):
        current = triage.tags(conversation_id)
        prompt = PromptScreen(
            f"Tags of #{conversation_id}: {', '.join(current) or 'none'}",
            "",
            TAGS_HINT,
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
    prompt: Dialog[str | None],
    doing: str,
    conversation_id: int,
    change: Callable[[str], str],
    then: Callable[[], None],
) -> None:
    """Ask, apply the answer (Esc: nothing), and say what the conversation is now."""
    ask_and_apply(
        desk, prompt, doing, lambda answer: f"#{conversation_id} is now {change(answer)}.", then
    )


def ask_and_apply(
    desk: DeskApp,
    prompt: Dialog[str | None],
    doing: str,
    change: Callable[[str], str],
    then: Callable[[], None],
) -> None:
    """Ask; apply the answer with `change`, which returns the sentence to say (Esc: nothing);
    a refusal is said as `doing` failed."""

    def answered(answer: str | None) -> None:
        if answer is None:
            return
        with desk.reporting(doing):
            desk.notify(change(answer), markup=False)
            then()

    desk.push_screen(prompt, answered)
