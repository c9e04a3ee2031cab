"""What the conversation list says on a desk with no channel yet: what to do first (issue 14).

An empty list alone tells a new admin nothing; a desk without a channel cannot receive mail,
so the list says what a channel is and the key that adds one.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from deskterm.channels import registry as channels

HINT = (
    "No channel yet, so no mail: press C to add a channel (then a). A channel is one support "
    "mailbox: deskterm reads its mail over IMAP or POP3 and sends the replies over SMTP."
)


class EmptyDeskHint(Static):
    """Shown instead of nothing while the desk has no conversation and no channel."""

    DEFAULT_CSS = """
    EmptyDeskHint { padding: 1 2; color: $text-muted; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__(Content(HINT), id="empty-desk")
        self.display = False

    def check(self, counts: dict[str, int]) -> None:
        """After the list's counts came in: shown only on a desk with nothing in it at all
        (the channels are asked only then)."""
        self.display = not any(counts.values()) and not channels.all_channels()
