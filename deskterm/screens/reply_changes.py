"""The composer's side of a collision: sending on a conversation that changed since it opened.

The composer remembers the newest message when it opened (`ReplyContext.seen_upto`) and
sends against it; the outbox refuses with `collision.ChangedSince` when the customer wrote
again or another agent replied meanwhile (see `outbound.collision`). This asks the agent
what to do, showing what changed: `s` sends anyway, `e` (or Esc, Enter) goes back to the
reply, `c` closes the composer with the draft kept. Whatever the answer, what was shown
counts as seen, so only what comes after it asks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from deskterm.outbound import collision, drafts
from deskterm.screens.reply_dialogs import ChangedSinceScreen

if TYPE_CHECKING:
    from textual.app import App
    from textual.widgets import TextArea


class ReplyChanges:
    """Mixed into `ComposeScreen`, whose send worker calls `send_checked` and whose
    `snapshot`, `sent_or_not`, `requeue` and `keep_and_close` this uses."""

    app: App[None]
    conversation_id: int
    body: TextArea
    seen_upto: int | None = None  # the newest message id the reply is written against

    class Changed(Message):
        def __init__(self, changed: collision.ChangedSince) -> None:
            super().__init__()
            self.changed = changed

    def send_checked(self, draft: drafts.Draft) -> drafts.Queued | None:
        """In the send worker: queue the draft, or post `Changed` (None) when the
        conversation changed since `seen_upto`."""
        try:
            return drafts.send(draft, self.seen_upto)
        except collision.ChangedSince as changed:
            self.post_message(self.Changed(changed))
            return None

    def on_reply_changes_changed(self, message: Changed) -> None:
        changed = message.changed

        def answered(answer: str | None) -> None:
            self.seen_upto = changed.newest  # shown to the agent: seen
            if answer == "send":
                self.requeue()
                return
            self.sent_or_not()
            if answer == "cancel":
                self.keep_and_close()
            else:
                self.body.focus()

        self.app.push_screen(ChangedSinceScreen(changed.conversation_id, changed.changes), answered)

    if TYPE_CHECKING:  # what the composer provides

        def post_message(self, message: Message) -> bool: ...
        def requeue(self) -> None: ...
        def sent_or_not(self) -> None: ...
        def keep_and_close(self) -> None: ...
