"""One conversation: its messages oldest first, and the keys that triage it
(screens/thread_triage).

The thread is read by a thread worker (`queries.conversation_detail`) and shown as one
`MessageView` per message; a conversation has tens of messages, not thousands, so widgets
per message are fine here (the list is where counts get large).

Moves (issue 14): J/K open the next/previous conversation of the list the thread was opened
from (its order and filter, as mutt's), ]/[ scroll to the next/previous message or note
(screens/thread_moves). Mail that arrives while the thread is open (from the worker, or another
agent's desk) is added below without moving what the agent reads; a line above the status bar
says so until they scroll to the end, and the message itself is marked "new" until they move to
it (screens/thread_news). The contact's other conversations are listed under the header where
the terminal has room (C picks one; a dialog at 80x24).

Types and custom fields (issue 16): a line under the header says them, `F` sets one
(screens/thread_fields).

Internal notes (issue 15): `n` writes one (screens/note_dialog); notes are among the messages
in time order as `NoteView`s, drawn apart from mail. Opening the thread marks the agent's
mentions in it seen (deskterm.desk.notes).

On a team desk a line above the status bar names the other agents viewing or replying here
(`PresenceLine`, which also says so to them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.desk import attachments, notes, presence, queries, time_spent, triage
from deskterm.desk.time_spent import format_duration
from deskterm.sanitize import one_line
from deskterm.screens.base import ReadingScreen
from deskterm.screens.message_tools import MessageTools
from deskterm.screens.thread_attachments import ThreadAttachments
from deskterm.screens.thread_fields import ThreadFields
from deskterm.screens.thread_moves import ThreadMoves, message_views
from deskterm.screens.thread_news import ThreadNews
from deskterm.screens.thread_notes import ThreadNotes
from deskterm.screens.thread_time import ThreadTime
from deskterm.screens.thread_triage import ThreadTriage
from deskterm.widgets.message_view import MessageView
from deskterm.widgets.note_view import NoteView
from deskterm.widgets.other_conversations import OtherConversations
from deskterm.widgets.presence_line import PresenceLine
from deskterm.widgets.status_bar import StatusBar
from deskterm.widgets.time_clock import TimeClock


class ThreadScreen(
    MessageTools,
    ThreadAttachments,
    ThreadMoves,
    ThreadNews,
    ThreadNotes,
    ThreadFields,
    ThreadTime,
    ThreadTriage,
    ReadingScreen,
):
    SCROLLER = "#messages"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="thread.back"),
        Binding("g,home", "scroll('home')", "First message", id="thread.first"),
        Binding("G,end", "scroll('end')", "Last message", id="thread.last"),
        Binding("t", "toggle_quotes", "Show/hide quoted text", id="thread.quotes"),
        Binding("s", "status", "Status (o/p/r/c)", id="conversation.status"),
        Binding("n", "note", "Write an internal note (@handle mentions)", id="thread.note"),
        Binding("right_square_bracket", "message(1)", "Next message", id="thread.next_message"),
        Binding(
            "left_square_bracket", "message(-1)", "Previous message", id="thread.previous_message"
        ),
        Binding("J", "neighbour(1)", "Next conversation of the list", id="thread.next"),
        Binding("K", "neighbour(-1)", "Previous conversation of the list", id="thread.previous"),
        Binding("C", "others", "Contact's other conversations", id="thread.others"),
        Binding("P", "cycle_priority", "Priority", id="thread.priority"),
        Binding("F", "fields", "Fields and type", id="thread.fields"),
        Binding("a", "assign", "Assign", id="conversation.assign"),
        Binding("m", "assign_to_me", "Assign to me", id="conversation.assign_to_me"),
        Binding("r", "reply", "Reply", id="conversation.reply"),
        Binding("T", "tags", "Tags", id="conversation.tags"),
        Binding("N", "toggle_unread", "Mark unread/read", id="conversation.unread"),
        Binding("u", "undo", "Undo the last triage change", id="conversation.undo"),
        Binding("x", "macro", "Apply a macro", id="conversation.macro"),
        Binding("c", "contact", "Contact's page: organization, addresses", id="thread.contact"),
        Binding("w", "save_attachment", "Save an attachment", id="thread.save_attachment"),
        Binding("o", "open_attachment", "Open an attachment", id="thread.open_attachment"),
        Binding("l", "links", "Links of the message (open one)", id="message.links"),
        Binding("V", "source", "The message's source", id="message.source"),
        Binding("H", "open_html", "The message's HTML in the browser", id="message.html"),
        Binding("f", "forward", "Forward the message (and its attachments)", id="message.forward"),
        Binding("L", "log_time", "Log time spent on the conversation", id="thread.log_time"),
        Binding("E", "time_entries", "Time entries: correct or remove", id="thread.time_entries"),
    ]
    DEFAULT_CSS = """
    ThreadScreen #meta { height: 1; padding: 0 1; color: $text-muted; }
    ThreadScreen #fields { height: 1; padding: 0 1; color: $text-muted; }
    ThreadScreen #fields.-none { display: none; }
    ThreadScreen #due { height: 1; padding: 0 1; color: $text-muted; }
    ThreadScreen #due.-none { display: none; }
    ThreadScreen #due.-soon { color: $text-warning; }
    ThreadScreen #due.-breached { color: $text-error; text-style: bold; }
    ThreadScreen #messages { height: 1fr; scrollbar-size-vertical: 1; }
    ThreadScreen #others { height: auto; max-height: 4; border: none; padding: 0 1; }
    ThreadScreen #others.-none { display: none; }
    ThreadScreen #news { height: 1; padding: 0 1; background: $warning 30%; text-style: bold; }
    ThreadScreen #news.-none { display: none; }
    """
    WIDE = (100, 30)  # columns and lines from which the other conversations show beside

    class Loaded(Message):
        def __init__(
            self,
            detail: dict[str, Any],
            tags: list[str],
            files: list[attachments.StoredAttachment],
            others: list[dict[str, Any]],
        ) -> None:
            super().__init__()
            self.detail = detail
            self.tags = tags
            self.files = files
            self.others = others

    def __init__(
        self, conversation_id: int, neighbour: Callable[[int, int], int | None] | None = None
    ) -> None:
        """`neighbour(id, step)`: the conversation `step` (1 or -1) away from `id` in the list
        the thread was opened from, or None at its end (J/K)."""
        super().__init__()
        self.conversation_id = conversation_id
        self.neighbour = neighbour
        self.others: list[dict[str, Any]] = []
        self._mounted: int | None = None  # the conversation whose messages are on screen
        self.detail: dict[str, Any] | None = None
        self.tags: list[str] = []
        self.files: list[attachments.StoredAttachment] = []
        self.show_quotes = False
        self._first_load = True

    def compose(self) -> ComposeResult:
        yield Static(Content(f"#{self.conversation_id}"), id="title")
        yield Static(Content("loading…"), id="meta")
        yield Static(id="fields", classes="-none")
        yield Static(id="due", classes="-none")
        yield OtherConversations(id="others", classes="-none")
        yield VerticalScroll(id="messages")
        yield Static(id="news", classes="-none")
        yield PresenceLine(self.desk.presence, self.conversation_id, presence.VIEWING)
        yield TimeClock(self.conversation_id)
        yield StatusBar("esc back  n note  ] [ message  J K conv.  ? help")

    def on_mount(self) -> None:
        box = self.query_one("#messages", VerticalScroll)
        box.focus()
        self.watch(box, "scroll_y", self._moved, init=False)
        # A reply's state (queued -> sent/failed) changes under the view: follow it live.
        self.follow_desk()
        self.reload()

    def reload(self) -> None:
        self._load(self._first_load)
        self._first_load = False

    @work(
        thread=True,
        exclusive=True,
        group="thread",
        exit_on_error=False,
        description="reading the conversation",
    )
    def _load(self, mark_read: bool) -> None:
        if mark_read:
            triage.mark_read(self.conversation_id)
            notes.opened(self.conversation_id)
        detail = queries.conversation_detail(self.conversation_id)
        tags = triage.tags(self.conversation_id)
        files = attachments.of_conversation(self.conversation_id)
        others = queries.other_conversations(self.conversation_id)
        detail["time_spent"] = time_spent.total(self.conversation_id)
        self.post_message(self.Loaded(detail, tags, files, others))

    async def on_thread_screen_loaded(self, message: Loaded) -> None:
        detail = message.detail
        if detail["id"] != self.conversation_id:
            return  # read before J/K moved on to another conversation
        self.detail = detail
        self.tags, self.files, self.others = message.tags, message.files, message.others
        self.query_one("#title", Static).update(
            Content(f"#{detail['id']} {one_line(detail['subject'] or '(no subject)')}")
        )
        self.query_one("#meta", Static).update(
            Content(self._meta(detail, self.tags, len(self.others)))
        )
        self.show_fields(detail)
        self.query_one(OtherConversations).show(self.others)
        self._place_others()
        box = self.query_one("#messages", VerticalScroll)
        views = message_views(box)
        messages = detail["messages"]
        if self._mounted == detail["id"] and [_key(v.message) for v in views] == [
            _key(m) for m in messages[: len(views)]
        ]:
            # The same thread read again (new mail, a reply's state): what the agent reads
            # stays where it is, changed messages are redrawn, new ones added below.
            for view, fresh in zip(views, messages, strict=False):
                if view.message != fresh:
                    view.show_message(fresh, self.show_quotes)
            added = messages[len(views) :]
            if added:
                await box.mount_all(self._view(m, new=_from_elsewhere(m)) for m in added)
                self._announce(added)
            if self._to_end:
                self._to_end = False
                box.scroll_end(animate=False)
            return
        self._mounted = detail["id"]
        self._show_news(None)
        await box.remove_children()
        await box.mount_all(self._view(m) for m in messages)
        if self._to_end:  # the agent's own note, in a thread read anew
            self._to_end = False
            box.scroll_end(animate=False)
        else:
            box.scroll_home(animate=False)

    def _view(self, message: dict[str, Any], *, new: bool = False) -> MessageView | NoteView:
        if message.get("direction") == "note":
            return NoteView(message)
        return MessageView(message, self.show_quotes, new=new)

    def on_resize(self) -> None:
        self._place_others()

    def _place_others(self) -> None:
        """Beside the thread only where there is room for it and some to show."""
        columns, lines = self.WIDE
        wide = self.size.width >= columns and self.size.height >= lines
        self.query_one(OtherConversations).set_class(not (wide and self.others), "-none")

    @staticmethod
    def _meta(detail: dict[str, Any], tags: list[str] | None = None, others: int = 0) -> str:
        count = sum(m.get("direction") != "note" for m in detail["messages"])
        noted = len(detail["messages"]) - count
        parts = [
            detail["status"],
            f"{detail['priority']} priority",
            f"assigned to {detail['assignee']}" if detail.get("assignee") else "unassigned",
            *(["tags: " + ", ".join(tags)] if tags else []),
            f"{count} message{'s' if count != 1 else ''}",
            *([f"{noted} note{'s' if noted != 1 else ''}"] if noted else []),
            *([f"{format_duration(spent)} spent"] if (spent := detail.get("time_spent")) else []),
            detail.get("contact") or "no contact",
            *([f"{others} other conversation{'s' if others != 1 else ''} (C)"] if others else []),
            detail["channel"],
        ]
        return one_line(" · ".join(parts))

    # --- keys --------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_others(self) -> None:
        """Pick one of the contact's other conversations: in the list beside the thread, or
        in a dialog where there is no room for it."""
        from deskterm.screens.other_conversations import OtherConversationsDialog

        others = self.query_one(OtherConversations)
        if not self.others:
            self.notify("The contact has no other conversation.", markup=False)
        elif others.has_class("-none"):
            contact = self.detail.get("contact") if self.detail else None
            self.app.push_screen(
                OtherConversationsDialog(contact or "", self.others), self._open_other
            )
        elif others.has_focus:
            self.query_one("#messages").focus()
        else:
            others.focus()

    def on_other_conversations_chosen(self, event: OtherConversations.Chosen) -> None:
        self._open_other(event.conversation_id)

    def _open_other(self, conversation_id: int | None) -> None:
        """Opened on top of this thread: Esc comes back here."""
        if conversation_id is not None:
            self.app.push_screen(ThreadScreen(conversation_id))

    def action_toggle_quotes(self) -> None:
        self.show_quotes = not self.show_quotes
        for view in self.query(MessageView):
            view.show_quotes(self.show_quotes)

    def action_reply(self) -> None:
        from deskterm.screens.compose import ComposeScreen

        self.app.push_screen(ComposeScreen(self.conversation_id))

    def action_contact(self) -> None:
        """The contact's page: their conversations (Enter opens one on top of it), their
        organization and other addresses (`a` and `m` there change them)."""
        from deskterm.screens.contact import ContactScreen

        contact = self.detail.get("contact") if self.detail else None
        if not contact:
            self.notify("This conversation has no contact.", markup=False)
            return
        self.app.push_screen(ContactScreen(contact, self._open_other))

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Show or hide quoted text", "Fold the quoted history", self.action_toggle_quotes
        )
        yield SystemCommand("Change status", "open, pending, resolved, closed", self.action_status)
        yield SystemCommand("Undo", "Undo the last triage change", self.action_undo)
        yield SystemCommand("Assign", "Give the conversation to someone", self.action_assign)
        yield SystemCommand("Reply", "Answer this conversation", self.action_reply)
        yield SystemCommand("Write a note", "Internal: only agents see it (n)", self.action_note)
        yield SystemCommand(
            "Next conversation",
            "Of the list the thread was opened from (J)",
            lambda: self.action_neighbour(1),
        )
        yield SystemCommand(
            "Previous conversation",
            "Of the list the thread was opened from (K)",
            lambda: self.action_neighbour(-1),
        )
        yield SystemCommand(
            "Contact's other conversations",
            "Open another of the contact's (C)",
            self.action_others,
        )


def _from_elsewhere(message: dict[str, Any]) -> bool:
    """Worth a "new" mark when it arrives in the open thread: mail and notes, not a reply
    (the agent's own, queued from this thread, arrives the same way)."""
    return message.get("direction") != "out"


def _key(message: dict[str, Any]) -> tuple[Any, ...]:
    """What tells a message from another of the thread (an outgoing one may have no id)."""
    if message.get("direction") == "note":
        return ("note", message.get("id"))
    return (message.get("message_id"), message.get("direction"), message.get("date"))
