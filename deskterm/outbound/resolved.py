"""The resolved notice: a mail telling the customer their conversation is resolved, sent
through the channel's outbox (as an acknowledgement is) when an agent resolves it and the
channel names a template for it (`resolved_template` in [outbound]).

When it is sent, and when not:
- only when an agent sets the status to resolved (the `s` key, `deskterm status`, a macro,
  on one conversation or on marked ones): `set_status` here is what they all call. A reply
  that leaves the conversation resolved (Ctrl+R in the composer, `reply --status resolved`)
  sends none: the reply itself was the last word to the customer.
- once per resolution: not again while the customer has not written since the last one was
  queued, so resolving, undoing and resolving again (or a macro applied twice) mails once;
  a customer who writes again and is resolved again gets a new one.
- never to one of the channel's own addresses, never without a contact.

The notice is queued in the same transaction as the status change: if it cannot be (the
template named does not exist), the status is not changed either, and the sentence says
how to fix the channel.
"""

from __future__ import annotations

from deskterm.channels import registry as channels
from deskterm.channels.typed import ChannelConfig
from deskterm.desk import agents, templates, triage
from deskterm.desk.undo import History
from deskterm.outbound.replies import queue_reply
from deskterm.store.db import database
from deskterm.store.models import Conversation, Message, Outbox

KIND = "resolved"  # the outbox's kind for these mails


def set_status(conversation_id: int, status: str, *, history: History | None = None) -> str:
    """`triage.set_status`, then the resolved notice when this resolved the conversation."""
    with database.atomic():
        before = Conversation.get_or_none(Conversation.id == conversation_id)
        triage.set_status(conversation_id, status, history=history)
        if status == "resolved" and before is not None and before.status != "resolved":
            queue_notice(conversation_id)
    return status


def queue_notice(conversation_id: int, agent: str | None = None) -> Message | None:
    """Queue the channel's resolved notice for this conversation, signed by `agent` (the
    agent at this keyboard by default); None when the channel sends none or it was already
    sent for this resolution (see the module's doc)."""
    conversation = Conversation.get_by_id(conversation_id)
    config = ChannelConfig.of(conversation.channel)
    outbound = config.outbound
    if outbound is None or not outbound.resolved_template or conversation.contact_id is None:
        return None
    if conversation.contact.email in channels.own_addresses(config):
        return None
    if already_sent(conversation_id):
        return None
    filled = templates.fill_parts(
        outbound.resolved_template, conversation, agent or agents.display_name()
    )
    return queue_reply(
        conversation_id, filled.text, status=None, automatic=True, kind=KIND, html=filled.html
    )


def already_sent(conversation_id: int) -> bool:
    """Whether a resolved notice was queued since the customer last wrote."""
    last = (
        Outbox.select(Outbox.created_at)
        .join(Message)
        .where(Message.conversation == conversation_id, Outbox.kind == KIND)
        .order_by(Outbox.created_at.desc())
        .first()
    )
    if last is None:
        return False
    return not (
        Message.select()
        .where(
            Message.conversation == conversation_id,
            Message.direction == "in",
            Message.created_at > last.created_at,
        )
        .exists()
    )
