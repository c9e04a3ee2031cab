"""The reply composer: `r` on a conversation opens it; Ctrl+S queues the reply in the outbox.

A thin screen over `deskterm.outbound.drafts`: the text area, Cc, attachments and the status the
conversation takes afterwards make up one `Draft`, handed to an `Autosaver` on every change
(written at most once a second, and again when the screen closes, however it closes), so a
crash or a dropped SSH session loses at most a second of typing and `r` brings it back.

Sending runs `drafts.send` in a thread (it reads the attachments and commits to the outbox);
the screen closes when the reply is queued, and the thread view shows it queued, then sent
or failed, as the worker's delivery events arrive. A template, the quote (^t) and `$EDITOR`
(^g) are `ReplyText`'s.

Text that comes from a mail (subject, names, a quote, a template's variables) is cleaned in
`drafts` or here and shown as `Content`, never as markup.

On a team desk the composer is also this agent's "replying" (a `PresenceLine` names the other
agents replying here), and a conversation that changed since it opened asks before sending
(`ReplyChanges`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static, TextArea
from textual.worker import Worker, WorkerState

from deskterm.desk import presence
from deskterm.desk import status as lifecycle
from deskterm.errors import DeskError
from deskterm.outbound import composer, drafts
from deskterm.sanitize import clean, one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.reply_changes import ReplyChanges
from deskterm.screens.reply_dialogs import CloseDraftScreen
from deskterm.screens.reply_text import ReplyText
from deskterm.screens.words import tui_sentence
from deskterm.widgets.attachment_list import AttachmentList
from deskterm.widgets.path_input import PathInput
from deskterm.widgets.presence_line import PresenceLine
from deskterm.widgets.status_bar import StatusBar
from deskterm.widgets.status_choice import StatusChoice
from deskterm.widgets.time_clock import TimeClock

AUTOSAVE_TICK = 0.25  # seconds: how often a change held back by the throttle is checked


class ComposeScreen(ReplyChanges, ReplyText, DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send: queue the reply in the outbox", id="compose.send"),
        Binding("ctrl+t", "insert", "Insert a template (or the quote)", id="compose.insert"),
        Binding("ctrl+g", "editor", "Write the reply in $EDITOR", id="compose.editor"),
        Binding("ctrl+f", "attach", "Attach a file (type its path)", id="compose.attach"),
        Binding(
            "ctrl+r", "toggle_status", "After sending: pending or resolved", id="compose.status"
        ),
        Binding(
            "ctrl+o",
            "toggle_recipient",
            "Send to the mail's Reply-To instead of the contact (or back)",
            id="compose.recipient",
        ),
        Binding("escape", "close", "Close (the draft is kept)", id="compose.close"),
        Binding("f1", "app.help", "Keys (help)", id="compose.help"),
    ]
    DEFAULT_CSS = """
    ComposeScreen #meta { height: 1; padding: 0 1; color: $text-muted; }
    ComposeScreen #title, ComposeScreen #meta { text-wrap: nowrap; text-overflow: ellipsis; }
    ComposeScreen .row { height: 1; }
    ComposeScreen .row > Label { width: 8; padding: 0 1; color: $text-muted; }
    ComposeScreen .row > Input { border: none; height: 1; padding: 0 1; width: 1fr; }
    ComposeScreen .row > Input:focus { background: $boost; }
    ComposeScreen #attachments { height: auto; max-height: 3; border: none; padding: 0 0 0 8; }
    ComposeScreen #attachments.-empty { display: none; }
    ComposeScreen #body { height: 1fr; border: round $primary 40%; }
    ComposeScreen #body:focus { border: round $primary; }
    ComposeScreen #note { height: auto; max-height: 2; padding: 0 1; }
    """

    class ContextLoaded(Message):
        def __init__(self, context: composer.ReplyContext) -> None:
            super().__init__()
            self.context = context

    class Queued(Message):
        def __init__(self, queued: drafts.Queued) -> None:
            super().__init__()
            self.queued = queued

    class NotQueued(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, conversation_id: int, insert: str | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.insert = insert  # a macro's template, filled: inserted at the end once open
        self.context: composer.ReplyContext | None = None
        self.sending = False
        self._load_problem: str | None = None
        try:
            self.draft = drafts.load(conversation_id)
        except DeskError as exc:
            self._load_problem = tui_sentence(exc)
            self.draft = drafts.Draft(conversation_id)
        self.restored = not self.draft.is_empty()
        self.keeper = drafts.Autosaver(self.draft)
        self._save_failed = False

    def compose(self) -> ComposeResult:
        yield Static(Content(f"Reply to #{self.conversation_id}"), id="title")
        yield Static(Content("loading…"), id="meta")
        with Horizontal(classes="row"):
            yield Label(Content("Cc"))
            yield Input(self.draft.cc, placeholder="more addresses, separated by commas", id="cc")
        with Horizontal(classes="row"):
            yield Label(Content("Attach"))
            yield PathInput(placeholder="a file's path: tab completes, enter adds", id="attach")
        yield AttachmentList(self.remove_attachment, id="attachments")
        with Horizontal(classes="row"):
            yield Label(Content("Then"))
            yield StatusChoice(lifecycle.AFTER_REPLY, self.draft.status, id="status")
        yield TextArea(self.draft.body, id="body", placeholder="Write the reply here.")
        yield Static(Content(""), id="note")
        yield PresenceLine(
            self.desk.presence, self.conversation_id, presence.REPLYING, shows=(presence.REPLYING,)
        )
        yield TimeClock(self.conversation_id)
        yield StatusBar("^s send  ^t template  ^g editor  esc close  f1 keys")

    @property
    def body(self) -> TextArea:
        return self.query_one("#body", TextArea)

    def on_mount(self) -> None:
        self._show_attachments()
        body = self.body
        body.focus()
        body.move_cursor(body.document.end)
        if self.insert:
            text = clean(self.insert)
            body.insert(text if text.endswith("\n") else text + "\n")
        self.set_interval(AUTOSAVE_TICK, self._autosave_tick)
        if self._load_problem:
            self.notify(self._load_problem, severity="error", markup=False)
        self._show_note()
        self._load_context()

    def on_unmount(self) -> None:
        """However the screen goes (Esc, the app quitting), what was typed is on disk.

        Every edit already handed the draft to the keeper, so this needs no widget (they
        may be gone by now); it writes what the throttle still held back.
        """
        self._save(lambda: self.keeper.flush(force=True), show=False)

    # --- what the reply goes to ------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="context",
        exit_on_error=False,
        description="reading the conversation",
    )
    def _load_context(self) -> None:
        self.post_message(self.ContextLoaded(composer.reply_context(self.conversation_id)))

    def on_compose_screen_context_loaded(self, message: ContextLoaded) -> None:
        context = self.context = message.context
        self.seen_upto = context.seen_upto
        self.query_one("#title", Static).update(
            Content(f"Reply to #{context.conversation_id}  {one_line(context.subject)}")
        )
        self._show_recipient()
        hint = "Write the reply here; ^t inserts a template."
        if context.quote_previous and context.answered_from:
            who = one_line(context.answered_from)
            hint = f"Write the reply here; {who}'s mail is quoted below it. ^t inserts a template."
        self.body.placeholder = Content(hint)  # a str would be parsed as markup
        self._show_note()

    def _show_recipient(self) -> None:
        """The To line says where the reply goes now; a Reply-To is named, never used unasked."""
        context = self.context
        if context is None:
            return
        if not context.reply_to:
            self.draft.to_reply_to = False
        to = context.reply_to if self.draft.to_reply_to else context.to
        sender = one_line(context.sender or "?")
        self.query_one("#meta", Static).update(
            Content(f"To {one_line(to or 'nobody')} · from {sender}")
        )

    def action_toggle_recipient(self) -> None:
        context = self.context
        if context is None or not context.reply_to:
            self.notify("The answered mail names no other address to reply to.")
            return
        self.draft.to_reply_to = not self.draft.to_reply_to
        self._show_recipient()
        self._show_note()
        self._edited()

    def _show_note(self, saved: bool = False) -> None:
        parts: list[str | tuple[str, str]] = []
        context = self.context
        if context and context.reply_to and not context.problem:
            other = one_line(context.reply_to)
            if self.draft.to_reply_to:
                warning = f"Goes to {other}, the mail's Reply-To, not the contact; ^o goes back."
            else:
                warning = f"The mail asks for replies to {other}; ^o sends there instead."
            parts += [(warning, "bold $text-warning"), "  "]
        if context and context.problem:
            parts += [(one_line(context.problem), "bold $text-error"), "  "]
        elif context and context.waiting:
            parts += [(one_line(context.waiting), "$text-warning"), "  "]
        if saved:
            parts.append(("Draft saved.", "dim"))
        elif self.restored:
            parts.append(("Draft restored.", "dim"))
        self.query_one("#note", Static).update(Content.assemble(*parts))

    # --- the draft -------------------------------------------------------------------------

    def snapshot(self) -> drafts.Draft:
        """The draft as the widgets hold it now."""
        return drafts.Draft(
            self.conversation_id,
            body=self.body.text,
            cc=self.query_one("#cc", Input).value,
            attachments=list(self.draft.attachments),
            status=self.query_one(StatusChoice).value,
            to_reply_to=self.draft.to_reply_to,
        )

    @on(TextArea.Changed, "#body")
    @on(Input.Changed, "#cc")
    @on(StatusChoice.Changed)
    def _edited(self) -> None:
        self._save(lambda: self.keeper.changed(self.snapshot()))

    def _autosave_tick(self) -> None:
        self._save(self.keeper.flush)

    def save_now(self) -> None:
        """Write what the widgets hold now, throttle or not (before send, editor, close)."""
        self._save(lambda: self.keeper.changed(self.snapshot()) or self.keeper.flush(force=True))

    def _save(self, how: Callable[[], bool], show: bool = True) -> None:
        if self.sending:  # the draft is being sent (and then deleted): leave the file alone
            return
        try:
            written = how()
        except DeskError as exc:
            if not self._save_failed:  # once, not on every keystroke
                self._save_failed = True
                self.notify(tui_sentence(exc), severity="error", markup=False)
            return
        if written:
            self._save_failed = False
            self.restored = False
            if show:
                self._show_note(saved=not self.keeper.saved.is_empty())

    # --- keys --------------------------------------------------------------------------------

    def action_send(self) -> None:
        if self.sending:
            return
        draft = self.snapshot()
        self.save_now()  # on disk before anything else can go wrong
        self.sending = True
        self.body.read_only = True
        self._queue(draft)

    def requeue(self) -> None:
        """Send anyway, after the agent saw what changed (the composer is still sending)."""
        self._queue(self.snapshot())

    @work(
        thread=True,
        exclusive=True,
        group="send",
        exit_on_error=False,
        description="queueing the reply",
    )
    def _queue(self, draft: drafts.Draft) -> None:
        try:
            queued = self.send_checked(draft)
        except DeskError as exc:
            self.post_message(self.NotQueued(tui_sentence(exc)))
            return
        if queued is not None:
            self.post_message(self.Queued(queued))

    def on_compose_screen_queued(self, message: Queued) -> None:
        self.keeper.stop()
        self.desk.schedule_refresh()  # the thread and the list show the queued reply
        self.app.notify(message.queued.note, markup=False, timeout=8)
        if self.is_current:
            self.dismiss()

    def on_compose_screen_not_queued(self, message: NotQueued) -> None:
        self.sent_or_not()
        self.notify(one_line(message.reason), severity="error", markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The base class's handler (reporting the error) runs too: Textual calls the handler
        # of every class in the MRO, so calling super() here reported each failure twice.
        if event.worker.group == "send" and event.state in (
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self.sent_or_not()

    def sent_or_not(self) -> None:
        """Not queued after all: the composer is editable again and the draft kept."""
        self.sending = False
        self.body.read_only = False
        self.save_now()

    def action_close(self) -> None:
        if self.sending:
            return
        draft = self.snapshot()
        if draft.is_empty():
            self.keeper.stop()
            drafts.discard(self.conversation_id)
            self.dismiss()
            return

        def answered(answer: str | None) -> None:
            if answer == "keep":
                self.keep_and_close()
            elif answer == "discard":
                self.keeper.stop()
                drafts.discard(self.conversation_id)
                self.notify(f"Draft for #{self.conversation_id} discarded.", markup=False)
                self.dismiss()

        self.app.push_screen(CloseDraftScreen(), answered)

    def keep_and_close(self) -> None:
        self.save_now()
        self.notify(f"Draft kept: r on #{self.conversation_id} opens it again.", markup=False)
        self.dismiss()

    def action_toggle_status(self) -> None:
        self.query_one(StatusChoice).action_next()

    def action_attach(self) -> None:
        self.query_one("#attach", PathInput).focus()

    @on(Input.Submitted, "#attach")
    def _add_attachment(self, event: Input.Submitted) -> None:
        limit = self.context.attachment_limit if self.context else 0
        with self.desk.reporting("attach the file"):
            path = composer.add_attachment(self.draft, event.value, limit)
            event.input.value = ""
            self._show_attachments()
            self.save_now()
            self.notify(f"Attached {one_line(path.name)}.", markup=False)

    def remove_attachment(self, index: int) -> None:
        if 0 <= index < len(self.draft.attachments):
            removed = self.draft.attachments.pop(index)
            self._show_attachments()
            self.save_now()
            self.notify(f"Removed {one_line(Path(removed).name)}.", markup=False)

    def _show_attachments(self) -> None:
        self.query_one(AttachmentList).show(composer.attachment_sizes(self.draft))
