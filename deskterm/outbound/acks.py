"""The automatic acknowledgement of a new conversation, and the limits that keep it from
looping or mailing in bulk."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from deskterm.channels import registry as channels
from deskterm.channels.typed import ChannelConfig
from deskterm.desk import templates
from deskterm.mail.automail import automated_reason
from deskterm.outbound.replies import queue_reply
from deskterm.store.db import utcnow
from deskterm.store.models import Conversation, Message, Outbox

# Acknowledgements the whole desk sends in an hour, whoever they go to: a flood of forged
# senders must not turn the desk into a mailer (Zammad caps system mail per address; we also
# cap the total).
DESK_ACKS_PER_HOUR = 100


def queue_auto_ack(conversation_id: int, mail: Any) -> Message | None:
    """Acknowledge a new conversation from the channel's template, unless that could loop.

    Never for automated mail (whatever the channel accepts), never to our own addresses,
    only ever to the conversation's contact (the sender, never a Reply-To a stranger chose),
    at most `auto_ack_per_hour` to that address and `DESK_ACKS_PER_HOUR` from the whole desk,
    so neither two auto-responders nor a forged sender can make the desk mail someone in bulk.
    """
    conversation = Conversation.get_by_id(conversation_id)
    channel = conversation.channel
    config = ChannelConfig.of(channel)
    outbound = config.outbound
    name = outbound.auto_ack_template if outbound else None
    if outbound is None or not name or conversation.contact_id is None:
        return None
    to = conversation.contact.email
    own = channels.own_addresses(config)
    if to in own or mail.from_addr in own or automated_reason(mail, own) is not None:
        return None
    since = utcnow() - timedelta(hours=1)
    acks = Outbox.select().where(Outbox.kind == "ack", Outbox.created_at > since)
    if acks.where(Outbox.recipient == to).count() >= outbound.auto_ack_per_hour:
        return None
    if acks.count() >= DESK_ACKS_PER_HOUR:
        return None
    body = templates.fill(name, conversation, agent=parseaddr(outbound.sender)[0] or channel.name)
    return queue_reply(conversation_id, body, status=None, automatic=True)
