"""Customers: the organizations (`U` from the list), and one organization's page.

The list shows each organization with its domains and how many contacts and conversations it
has; Enter opens its page: its domains, its contacts (Enter opens a contact's page) and its
newest conversations (Enter opens the thread), with `+`/`-` to add or take away a domain and
`m` to move the highlighted contact to another organization. Both read in thread workers
through `deskterm.desk.organizations` (what `deskterm org` prints) and follow the desk, so a
change made by another agent or the CLI shows here too.

Contacts' names and addresses come from mail: `cell` and `one_line`, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.desk import organizations
from deskterm.sanitize import one_line
from deskterm.screens.contact import ContactScreen
from deskterm.screens.organization_prompts import (
    ask_add_domain,
    ask_move_contact,
    ask_new_organization,
    ask_remove_domain,
    ask_remove_organization,
)
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.widgets.other_conversations import OtherConversations
from deskterm.widgets.status_bar import StatusBar

CONTACTS_SHOWN = 500  # an organization's page lists this many contacts, and says the rest


class OrganizationsScreen(TableScreen):
    """Every organization by name; Enter opens one, `a` adds one, `d` removes one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open the organization", id="organizations.open", priority=True),
        Binding("a", "add", "Add an organization", id="organizations.add"),
        Binding("d,delete", "remove", "Remove the organization", id="organizations.remove"),
        Binding("ctrl+r", "reload", "Reload", id="organizations.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="organizations.back"),
    ]
    FOLLOWS_DESK = True
    EMPTY_HINT = "There is no organization here; press a to add one."

    def compose(self) -> ComposeResult:
        yield Static(Content("Organizations"), id="title")
        columns = (("name", 28), ("contacts", 8), ("conversations", 13), ("domains", None))
        yield row_table(columns, line=self.app.size.width)
        yield Static(Content("loading…"), id="empty")
        yield StatusBar("enter open  a add  d remove  esc back  ? help")

    @work(
        thread=True,
        exclusive=True,
        group="organizations",
        exit_on_error=False,
        description="reading the organizations",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(organizations.all_organizations()))

    def on_table_screen_loaded(self, message: TableScreen.Loaded) -> None:
        self.fill(
            message.rows,
            lambda row: (
                cell(row["name"]),
                Text(str(row["contacts"]), justify="right"),
                Text(str(row["conversations"]), justify="right"),
                cell(", ".join(row["domains"]) or "no domain", "dim" if not row["domains"] else ""),
            ),
            "name",
        )
        empty = self.query_one("#empty", Static)
        empty.update(
            Content(
                "No organizations yet: press a to add one, then + on its page adds its mail "
                "domains (or use `deskterm org add`)."
            )
        )
        empty.set_class(bool(message.rows), "-hidden")

    def action_open(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(OrganizationScreen(row["name"]))

    open_row = action_open

    def action_add(self) -> None:
        ask_new_organization(self.desk, self._added)

    def _added(self, name: str) -> None:
        self.reload()  # this app's own write: SQLite's data_version tells only the others
        self.app.push_screen(OrganizationScreen(name))

    def action_remove(self) -> None:
        row = self._selected()
        if row is not None:
            ask_remove_organization(self.desk, row["name"], row["contacts"], self.reload)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Add an organization", "A customer, by name (a)", self.action_add)


class OrganizationScreen(TableScreen):
    """One organization: its domains, contacts (the table) and newest conversations."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus", "add_domain", "Add a mail domain", id="organization.add_domain"),
        Binding("minus", "remove_domain", "Remove a mail domain", id="organization.remove_domain"),
        Binding("m", "move", "Move the contact to another organization", id="organization.move"),
        Binding("ctrl+r", "reload", "Reload", id="organization.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="organization.back"),
    ]
    TABLE = "#contacts"
    FOLLOWS_DESK = True
    EMPTY_HINT = "This organization has no contact yet."
    DEFAULT_CSS = """
    OrganizationScreen #about { height: auto; padding: 0 1; }
    OrganizationScreen .heading { height: 1; padding: 0 1; text-style: bold; margin-top: 1; }
    OrganizationScreen #contacts { height: 1fr; overflow-x: hidden; }
    OrganizationScreen OtherConversations { height: 1fr; border: none; }
    """

    class Loaded(Message):
        def __init__(self, found: dict[str, Any]) -> None:
            super().__init__()
            self.found = found

    def __init__(self, name: str) -> None:
        super().__init__()
        self.organization = name
        self.found: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(one_line(self.organization)), id="title")
        yield Static(Content("loading…"), id="about")
        yield Static(Content("Contacts"), id="contacts-heading", classes="heading")
        columns = (("address", 36), ("conversations", 13), ("name", None))
        yield row_table(columns, id="contacts", line=self.app.size.width)
        yield Static(Content("Conversations"), id="conversations-heading", classes="heading")
        yield OtherConversations(id="conversations")
        yield StatusBar("enter open  +/- domain  m move  esc back")

    @work(
        thread=True,
        exclusive=True,
        group="organization",
        exit_on_error=False,
        description="reading the organization",
    )
    def _load(self) -> None:
        found = organizations.describe(self.organization, contacts_limit=CONTACTS_SHOWN)
        self.post_message(self.Loaded(found))

    def on_organization_screen_loaded(self, message: Loaded) -> None:
        found = self.found = message.found
        self.organization = found["name"]
        domains = ", ".join(found["domains"]) or "none: + adds one"
        self.query_one("#about", Static).update(Content(f"domains: {one_line(domains)}"))
        more = found["contact_count"] - len(found["contacts"])
        beyond = f", the first {len(found['contacts'])} shown" if more > 0 else ""
        self.query_one("#contacts-heading", Static).update(
            Content(f"Contacts ({found['contact_count']}{beyond})")
        )
        self.fill(
            found["contacts"],
            lambda row: (
                cell(row["email"]),
                Text(str(row["conversations"]), justify="right"),
                cell(row["name"]),
            ),
            "email",
        )
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(found["by_status"].items()))
        newest = f"; the newest {len(found['recent'])}" if found["recent"] else ""
        self.query_one("#conversations-heading", Static).update(
            Content(
                f"Conversations ({found['conversations']}{': ' if statuses else ''}"
                f"{statuses}){newest}"
            )
        )
        self.query_one(OtherConversations).show(found["recent"])

    def open_row(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(ContactScreen(row["email"], self.open_conversation))

    @on(OtherConversations.Chosen)
    def _open_conversation(self, event: OtherConversations.Chosen) -> None:
        self.open_conversation(event.conversation_id)

    def open_conversation(self, conversation_id: int) -> None:
        """Its thread, on top of this page (Esc comes back here)."""
        from deskterm.screens.thread import ThreadScreen

        self.app.push_screen(ThreadScreen(conversation_id))

    def action_add_domain(self) -> None:
        ask_add_domain(self.desk, self.organization, self.reload)

    def action_remove_domain(self) -> None:
        domains = self.found["domains"] if self.found else []
        ask_remove_domain(self.desk, self.organization, domains, self.reload)

    def action_move(self) -> None:
        row = self._selected()
        if row is not None:
            ask_move_contact(self.desk, row["email"], self.organization, self.reload)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Add a mail domain", "Of this organization (+)", self.action_add_domain)
        yield SystemCommand(
            "Remove a mail domain", "Of this organization (-)", self.action_remove_domain
        )
        yield SystemCommand(
            "Move the contact", "To another organization, or none (m)", self.action_move
        )
