"""The composer's dialogs: what to insert at the cursor, what to do with a draft on Esc, and
whether to send on a conversation that changed since the reply was started.

Template names were written by anyone with the CLI, a change's sender and lines come from a
mail or another agent: all shown through `one_line`, as `Content`.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from deskterm.outbound.collision import Change
from deskterm.sanitize import one_line
from deskterm.screens.dialog import Confirmation, Dialog
from deskterm.store.db import iso
from deskterm.widgets.message_view import when


class InsertScreen(Dialog[str | None]):
    """Pick a template (its $variables filled for the conversation) or the customer's quote."""

    QUOTE = "\x00quote"  # no template name can be this (names are printable)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="insert.cancel"),
    ]
    DEFAULT_CSS = """
    InsertScreen > .box { width: 64; max-height: 80%; }
    InsertScreen OptionList { height: auto; max-height: 12; }
    InsertScreen OptionList, InsertScreen OptionList:focus { border: none; padding: 0; }
    """

    def __init__(self, names: list[str], quote_ok: bool) -> None:
        super().__init__()
        self.names = names
        self.quote_ok = quote_ok

    def compose(self) -> ComposeResult:
        options = [Option(Content(one_line(name)), id=name) for name in self.names]
        if not options:
            options.append(
                Option(
                    Content("No templates yet: M in the list adds them."),
                    disabled=True,
                )
            )
        quote = "The customer's last mail, quoted (answer between its lines)"
        if not self.quote_ok:
            quote = "Quote: the channel adds it below every reply"
        options.append(Option(Content(quote), id=self.QUOTE, disabled=not self.quote_ok))
        with Vertical(classes="box") as box:
            box.border_title = "Insert at the cursor"
            yield OptionList(*options)
            yield Static(Content("Enter inserts, esc cancels."), classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CloseDraftScreen(Confirmation[str | None]):
    """Esc on a reply that has text: keep the draft (the default), discard it, or go back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k,enter", "answer('keep')", "Keep the draft and close", id="close.keep"),
        Binding("d", "answer('discard')", "Discard the draft", id="close.discard"),
        Binding("escape", "answer(None)", "Back to the reply", id="close.back"),
    ]

    def question(self) -> Content:
        return Content.assemble(
            ("Close this reply? ", "bold"),
            "The draft is saved; r opens it again.\n\n",
            ("k", "bold $accent"),
            " keep it and close   ",
            ("d", "bold $accent"),
            " discard it   ",
            ("esc", "bold $accent"),
            " back",
        )


class ChangedSinceScreen(Confirmation[str | None]):
    """Send on a conversation that changed since the composer opened: what changed (who,
    when, its first lines), then send anyway, back to the reply (the default), or cancel
    (the composer closes, the draft is kept: read the thread, then r)."""

    SHOWN = 3  # changes listed; the rest are counted
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "answer('send')", "Send the reply anyway", id="changed.send"),
        Binding("e,enter,escape", "answer('edit')", "Back to the reply", id="changed.edit"),
        Binding(
            "c", "answer('cancel')", "Close the reply (the draft is kept)", id="changed.cancel"
        ),
    ]
    DEFAULT_CSS = """
    ChangedSinceScreen > .box { width: 76; }
    """

    def __init__(self, conversation_id: int, changes: list[Change]) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.changes = changes

    def question(self) -> Content:
        parts: list[str | tuple[str, str]] = [
            (f"#{self.conversation_id} changed since you started this reply:\n", "bold"),
        ]
        for change in self.changes[: self.SHOWN]:
            moment = when(iso(change.when)) if change.when else "just now"
            parts += [("\n" + one_line(change.headline()), "bold"), f", {moment}\n"]
            parts += [f"  {one_line(line)}\n" for line in change.lines]
        hidden = len(self.changes) - self.SHOWN
        if hidden > 0:
            parts.append(f"\nand {hidden} more in the thread.\n")
        parts += [
            "\n",
            ("s", "bold $accent"),
            " send anyway   ",
            ("e", "bold $accent"),
            " back to the reply   ",
            ("c", "bold $accent"),
            " close it (draft kept)",
        ]
        return Content.assemble(*parts)
