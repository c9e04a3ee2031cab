"""A contact's page (`c` in a thread, Enter on an organization's contact): who they are, their
organization, their other addresses and their conversations (Enter opens one).

`a` changes the other addresses (the aliases prompt `contact alias` shares), `m` moves the
contact to another organization. The page reads `contacts.describe` (what `deskterm contact
show` prints) in a thread worker and follows the desk. Under the organization (`#fields`): the
custom fields' values across the contact's conversations, a line per field
(`contacts.field_lines`, as `contact show` prints them), each cut at the page's width and at
most six, so the conversations keep the page at 80x24; hidden when there are none.

The screen cannot import the thread's (the thread opens this page: a cycle), so whoever opens
it says how a conversation is opened. Names, addresses and field values came from mail:
`one_line`, as `Content`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.desk import contacts
from deskterm.sanitize import one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.organization_prompts import ask_move_contact
from deskterm.screens.triage_prompts import ask_aliases
from deskterm.widgets.other_conversations import OtherConversations
from deskterm.widgets.status_bar import StatusBar


class ContactScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "aliases", "The contact's other addresses", id="contact.aliases"),
        Binding("m", "move", "Move to another organization", id="contact.move"),
        Binding("ctrl+r", "reload", "Reload", id="contact.reload"),
        Binding("escape,q,c", "app.pop_screen", "Back", id="contact.back"),
    ]
    DEFAULT_CSS = """
    ContactScreen #about { height: auto; padding: 0 1; }
    ContactScreen #fields {
        height: auto; max-height: 6; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ContactScreen #fields.-empty { display: none; }
    ContactScreen .heading { height: 1; padding: 0 1; text-style: bold; margin-top: 1; }
    ContactScreen OtherConversations { height: 1fr; border: none; }
    """

    class Loaded(Message):
        def __init__(self, found: dict[str, Any]) -> None:
            super().__init__()
            self.found = found

    def __init__(self, address: str, open_conversation: Callable[[int], None]) -> None:
        super().__init__()
        self.address = address
        self.open_conversation = open_conversation
        self.found: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(one_line(self.address)), id="title")
        yield Static(Content("loading…"), id="about")
        yield Static(Content(""), id="fields", classes="-empty")
        yield Static(Content("Conversations"), id="conversations-heading", classes="heading")
        yield OtherConversations(id="conversations")
        yield StatusBar("enter open  a addresses  m move  esc back")

    def on_mount(self) -> None:
        self.follow_desk()
        self.query_one(OtherConversations).focus()
        self.reload()

    def reload(self) -> None:
        self._load()

    def action_reload(self) -> None:
        self.reload()

    @work(
        thread=True,
        exclusive=True,
        group="contact",
        exit_on_error=False,
        description="reading the contact",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(contacts.describe(self.address)))

    def on_contact_screen_loaded(self, message: Loaded) -> None:
        found = self.found = message.found
        self.address = found["email"]
        name = one_line(found["name"])
        title = f"{name} <{one_line(found['email'])}>" if name else one_line(found["email"])
        self.query_one("#title", Static).update(Content(title))
        aliases = ", ".join(one_line(a) for a in found["aliases"]) or "none"
        about = Content.assemble(
            ("organization: ", "dim"),
            one_line(found["organization"] or "none"),
            ("\nother addresses: ", "dim"),
            aliases,
        )
        self.query_one("#about", Static).update(about)
        lines = contacts.field_lines(found["fields"])
        shown_fields = self.query_one("#fields", Static)
        shown_fields.update(Content("\n".join(lines)))
        shown_fields.set_class(not lines, "-empty")
        shown = len(found["recent"])
        newest = f"; the newest {shown}" if shown < found["conversations"] else ""
        self.query_one("#conversations-heading", Static).update(
            Content(f"Conversations ({found['conversations']}{newest})")
        )
        self.query_one(OtherConversations).show(found["recent"])

    @on(OtherConversations.Chosen)
    def _open(self, event: OtherConversations.Chosen) -> None:
        self.open_conversation(event.conversation_id)

    def action_aliases(self) -> None:
        ask_aliases(self.desk, self.address, self.reload)

    def action_move(self) -> None:
        current = self.found["organization"] if self.found else None
        ask_move_contact(self.desk, self.address, current, self.reload)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Other addresses", "Add or remove the contact's aliases (a)", self.action_aliases
        )
        yield SystemCommand(
            "Move the contact", "To another organization, or none (m)", self.action_move
        )
