"""What goes into the reply besides typing: a template or the quote at the cursor (^t,
screens/reply_dialogs' InsertScreen) and the agent's own `$EDITOR` (^g), which takes over the
terminal through `App.suspend`, the way mutt users expect. Part of ComposeScreen (a mixin, as
ReplyChanges is), kept apart so the composer stays about the draft and sending it.

Templates and quotes are filled by `outbound.composer`, which cleans what came from mail.
"""

from __future__ import annotations

from textual.app import SuspendNotSupported

from deskterm.outbound import composer, editor
from deskterm.screens.reply_dialogs import InsertScreen


class ReplyText:
    """The composer's ^t and ^g (mixed into ComposeScreen, which has `conversation_id`,
    `context`, `body`, `save_now` and the app)."""

    def action_insert(self) -> None:
        with self.desk.reporting("list the templates"):
            names = composer.template_names()
            quote_ok = not (self.context and self.context.quote_previous)
            self.app.push_screen(InsertScreen(names, quote_ok), self._insert)

    def _insert(self, choice: str | None) -> None:
        if choice is None:
            return
        with self.desk.reporting("insert the text"):
            if choice == InsertScreen.QUOTE:
                text = composer.quote_text(self.conversation_id)
            else:
                text = composer.template_text(self.conversation_id, choice)
            if not text.endswith("\n"):  # the agent goes on writing on a line of their own
                text += "\n"
            self.body.insert(text)
        self.body.focus()

    def action_editor(self) -> None:
        """Suspend the UI, run the agent's editor on the text, and take back what they saved."""
        self.save_now()
        body = self.body
        outcome: str | BaseException | None = None
        try:
            with self.app.suspend():
                try:  # nothing may escape here: the terminal must be given back to the app
                    outcome = editor.edit_externally(body.text, self.conversation_id)
                except Exception as exc:
                    outcome = exc
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot be handed to an editor; write the reply here instead.",
                severity="warning",
                markup=False,
            )
            return
        if isinstance(outcome, BaseException):
            self.desk.report(outcome, "running the editor")
        elif isinstance(outcome, str) and outcome != body.text:
            body.replace(outcome, (0, 0), body.document.end)  # one undo step, not a reload
            body.move_cursor(body.document.end)
            self.save_now()
        body.focus()
