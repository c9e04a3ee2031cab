"""Threading: which conversation of its channel an incoming mail joins, and whether its
sender is one of that conversation's people (an outsider's mail joins but changes nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from deskterm.inbound.senders import Senders
from deskterm.mail import authresults
from deskterm.mail.parse import ParsedMail
from deskterm.store.bulk import select_in
from deskterm.store.models import Contact, Conversation, Message

SUBJECT_TOKEN = re.compile(r"\[#(\d{1,12})\]")
TOKENS_LOOKED_AT = 3  # a subject can hold thousands of [#id]s; the first few distinct ones count

State = dict[str, Any]  # a conversation's state as ingest keeps it (columns.CONVERSATION_STATE)


class Threader:
    """Threads the mail of one channel."""

    def __init__(self, channel_id: int, authserv_id: str | None, senders: Senders) -> None:
        """`authserv_id`: the channel's receiving server, whose Authentication-Results are
        believed; `senders`: the ingestor's, whose batch's senders are loaded already."""
        self.channel_id = channel_id
        self.authserv_id = authserv_id
        self.senders = senders
        self._organizations: dict[int, int | None] = {}  # contact id -> organization id

    def conversation_of(
        self, mail: ParsedMail, threads: dict[str, int], state: Callable[[int], State]
    ) -> tuple[int | None, bool]:
        """(the conversation this mail belongs to, whether its sender is an outsider there).

        Only conversations of this channel. In-Reply-To/References join anyone's mail (they
        are how replies thread), but a sender who is not a participant is an outsider: the
        message is marked and changes nothing else. A `[#id]` subject token is trusted only
        from the conversation's own people, and only the first few distinct tokens are read.
        `threads` maps Message-IDs to their conversations, `state` gives a conversation's.
        """
        for ref in (mail.in_reply_to, *reversed(mail.references)):
            if ref and ref in threads:
                conversation_id = threads[ref]
                return conversation_id, not self.is_participant(state(conversation_id), mail)
        tokens = list(dict.fromkeys(int(m) for m in SUBJECT_TOKEN.findall(mail.subject)))
        tokens = tokens[:TOKENS_LOOKED_AT]
        if tokens:
            ours = {
                i
                for (i,) in select_in(
                    Conversation, ["id"], "id", tokens, where=("channel", self.channel_id)
                )
            }
            for conversation_id in (t for t in tokens if t in ours):
                if self.is_participant(state(conversation_id), mail):
                    return conversation_id, False
        return None, False

    def is_participant(self, state: State, mail: ParsedMail) -> bool:
        """The conversation's contact (or an alias), someone on its Cc, or the contact's
        organization (by domain); where the channel names its receiving server
        (`authserv_id`), only when that server verified the From (a From can be forged)."""
        address = mail.from_addr
        if not address:
            return False
        if self.authserv_id and not authresults.sender_verified(
            mail.headers.get("authentication-results"),
            self.authserv_id,
            address.rpartition("@")[2],
        ):
            return False
        # The batch's senders are mapped to their contacts already, aliases included.
        contact_id = state["contact"]
        if contact_id is not None and self.senders.contacts.get(address) == contact_id:
            return True
        if address in (state["cc"] or []):
            return True
        if contact_id is None:
            return False
        if contact_id not in self._organizations:
            row = Contact.get_or_none(Contact.id == contact_id)
            self._organizations[contact_id] = row.organization_id if row else None
        organization = self._organizations[contact_id]
        return organization is not None and self.senders.organization_of(address) == organization


def existing_threads(message_ids: list[str], channel_id: int) -> dict[str, int]:
    """Stored (or sent) Message-ID -> its conversation of this channel (the newest such
    message's): threading never crosses channels."""
    columns = ["message_id", "conversation"]
    rows = select_in(Message, columns, "message_id", message_ids, order_by_id=True)
    found = {str(m): int(str(c)) for m, c in rows}
    ours = {
        i
        for (i,) in select_in(
            Conversation, ["id"], "id", list(set(found.values())), where=("channel", channel_id)
        )
    }
    return {m: c for m, c in found.items() if c in ours}
