"""The questions the customers' screens ask: a new organization's name, a domain to add or
take away, the organization to move a contact to, and whether to remove an organization.

Each applies its answer through `deskterm.desk.organizations` (the code `deskterm org` runs)
and says in one sentence what changed, or why not. Organization names were typed by admins and
addresses came from mail: every one is shown through `one_line`, as `Content`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Static

from deskterm.desk import organizations
from deskterm.sanitize import one_line
from deskterm.screens.dialog import ConfirmRemove
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.triage_prompts import ask_and_apply
from deskterm.widgets.completing_input import CompletingInput

if TYPE_CHECKING:
    from deskterm.app import DeskApp


def _people(count: int) -> str:
    return f"{count} contact{'s' if count != 1 else ''}"


class OrganizationPrompt(PromptScreen):
    """A prompt whose answer is an organization's name: Tab completes one (any case)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(Content(self.question))
            yield CompletingInput(
                value=self.value,
                id="answer",
                suggester=SuggestFromList(organizations.names(), case_sensitive=False),
            )
            if self.hint:
                yield Static(Content(self.hint), classes="hint")


def ask_new_organization(desk: DeskApp, then: Callable[[str], None]) -> None:
    """A new organization by name (its domains are added from its page); `then(name)`."""

    added: list[str] = []

    def change(answer: str) -> str:
        added.append(organizations.add(answer)["name"])
        return f"Organization {one_line(added[-1])!r} added: + on its page adds a mail domain."

    prompt = PromptScreen("Name of the new organization", "", "Enter adds it; Esc cancels.")
    ask_and_apply(desk, prompt, "add the organization", change, lambda: then(added[-1]))


def ask_add_domain(desk: DeskApp, name: str, then: Callable[[], None]) -> None:
    def change(answer: str) -> str:
        done = organizations.add_domain(name, answer)
        return (
            f"{done['domain']} now belongs to {one_line(done['name'])!r}; "
            f"{_people(done['linked'])} without an organization joined it."
        )

    prompt = PromptScreen(
        f"A mail domain of {one_line(name)}",
        "",
        "Like example.com: new senders from it join the organization, and so do its "
        "contacts without one. Esc cancels.",
    )
    ask_and_apply(desk, prompt, "add the domain", change, then)


def ask_remove_domain(
    desk: DeskApp, name: str, domains: list[str], then: Callable[[], None]
) -> None:
    if not domains:
        desk.notify(f"{one_line(name)} has no mail domain; + adds one.", markup=False)
        return

    def change(answer: str) -> str:
        done = organizations.remove_domain(answer)
        return (
            f"{done['domain']} no longer belongs to {one_line(done['name'])!r}; "
            f"{_people(done['unlinked'])} left it."
        )

    prompt = PromptScreen(
        f"Take which domain from {one_line(name)}? ({one_line(', '.join(domains))})",
        domains[0] if len(domains) == 1 else "",
        "Its contacts in this organization leave it. Esc cancels.",
    )
    ask_and_apply(desk, prompt, "remove the domain", change, then)


def ask_move_contact(
    desk: DeskApp, contact: str, current: str | None, then: Callable[[], None]
) -> None:
    """Which organization a contact belongs to; an empty answer takes it out of any."""

    def change(answer: str) -> str:
        done = organizations.move_contact(contact, answer.strip() or None)
        where = f"in {one_line(done['to'])!r}" if done["to"] else "in no organization"
        return f"{one_line(done['contact'])} is now {where}."

    prompt = OrganizationPrompt(
        f"Move {one_line(contact)} (now in {one_line(current or 'none')}) to",
        "",
        "An organization's name (Tab completes it); empty takes the contact out of any. "
        "Esc cancels.",
    )
    ask_and_apply(desk, prompt, "move the contact", change, then)


def ask_remove_organization(
    desk: DeskApp, name: str, contacts: int, then: Callable[[], None]
) -> None:
    def answered(yes: bool | None) -> None:
        if not yes:
            return
        with desk.reporting("remove the organization"):
            done = organizations.remove(name)
            desk.notify(f"Organization {one_line(done['name'])!r} removed.", markup=False)
            then()

    consequence = f"Its domains go; its {_people(contacts)} and their conversations stay."
    desk.push_screen(ConfirmRemove("organization", name, consequence), answered)
