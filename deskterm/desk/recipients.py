"""Whom a reply goes to: one place decides, for the CLI, the composer and the outbox.

By default the conversation's contact. The Reply-To of the answered mail is a request from
whoever wrote that mail, so it is shown and used only when the agent picks it: a stranger's
Reply-To (or Date, or In-Reply-To) must never redirect an answer silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from deskterm.errors import DeskError
from deskterm.mail import addresses
from deskterm.store.models import Conversation, Message


class NoRecipient(DeskError):
    """There is no address this reply may go to (nothing is queued)."""


def newest_first(message: Message) -> tuple[bool, datetime, int]:
    """The order a conversation's mail is answered in: newest Date first, then newest id,
    mail without a Date last (as the query in `replies.last_inbound` orders it)."""
    return (message.date is not None, message.date or datetime.min, message.id)


def answered_of(newest: Iterable[Message]) -> Message | None:
    """The customer mail a reply answers: the first inbound one from a participant (an
    outsider's mail, joined by its headers alone, is never answered or quoted by default),
    of mail given newest first (lazily: a query's rows are read only up to it)."""
    return next(
        (m for m in newest if m.direction == "in" and not (m.notes or {}).get("outsider")),
        None,
    )


def differing_reply_to(conversation: Conversation, answered: Message | None) -> str | None:
    """The answered mail's Reply-To when it is not the contact: shown to the agent, and used
    for a reply only when they choose it (a stranger's Reply-To must not redirect it)."""
    if answered is None or not answered.reply_to:
        return None
    contact = conversation.contact.email if conversation.contact_id else None
    return answered.reply_to if answered.reply_to != contact else None


def reply_address(
    conversation: Conversation, answered: Message | None, *, to_reply_to: bool = False
) -> str:
    """Where a reply goes: the contact, or the answered mail's Reply-To when the agent chose it.

    Raises NoRecipient with what to do when there is no such address.
    """
    if to_reply_to:
        if answered is None or not answered.reply_to or not addresses.valid(answered.reply_to):
            raise NoRecipient(
                f"The last mail in #{conversation.id} has no usable Reply-To; "
                "reply to the contact instead."
            )
        return answered.reply_to
    if conversation.contact_id and addresses.valid(conversation.contact.email):
        return conversation.contact.email
    if answered is not None and answered.from_addr and addresses.valid(answered.from_addr):
        return answered.from_addr
    raise NoRecipient(f"Conversation #{conversation.id} has no contact address to reply to.")
