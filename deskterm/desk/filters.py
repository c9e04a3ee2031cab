"""The conversation list's filters: a status, a channel, an assignee, a tag and a search.

One definition for the UI's list (`list_index`) and the CLI's (`queries.list_conversations`),
so a filter means the same everywhere.
"""

from __future__ import annotations

import re

import peewee

from deskterm.channels import registry as channels
from deskterm.desk import agents, field_values
from deskterm.desk import status as lifecycle
from deskterm.errors import ConfigError
from deskterm.store import fulltext
from deskterm.store.db import is_sqlite
from deskterm.store.models import (
    Contact,
    Conversation,
    ConversationTag,
    ConversationType,
    FieldValue,
    Message,
    Note,
)

FILTER_KEYS = ("channel", "assignee", "tag", "type", "field")
# Whose conversations the list shows (`A` steps through them): all, the agent's own
# (`assignee:me`, whoever "me" is on the machine that reads the filter, so a saved view
# means the same for every agent), or nobody's.
OWNERS = {"": "All", agents.ME: "Mine", "none": "Unassigned"}


def parse_filters(text: str) -> dict[str, str]:
    """`channel:NAME assignee:HANDLE tag:NAME type:NAME field:NAME=VALUE` (any subset, any
    order) as a dict; empty text is no filter. A value may not hold spaces; an unknown key or
    a bare word is refused, and so are a channel, an agent, a type and a field the desk does
    not have (`assignee:` also takes `me` and `none`, `type:` takes `none`)."""
    found: dict[str, str] = {}
    for word in text.split():
        key, colon, value = word.partition(":")
        key = key.lower()
        if not colon or key not in FILTER_KEYS or not value:
            raise ConfigError(
                f"{word!r} is not a filter; use channel:NAME, assignee:HANDLE, tag:NAME, "
                "type:NAME or field:NAME=VALUE."
            )
        found[key] = value
    if "channel" in found:
        channels.get(found["channel"])  # an unknown name: one sentence, now
    if "assignee" in found:
        found["assignee"] = owner_key(found["assignee"])
    if "type" in found:
        found["type"] = found["type"].lower()
        type_condition(found["type"])  # an unknown type: one sentence, now
    if "field" in found:
        name, equals, value = found["field"].partition("=")
        if not equals or not name:
            raise ConfigError(f"field:{found['field']} names no value; write field:NAME=VALUE.")
        field_values.filter_condition(name, value)  # an unknown field: one sentence, now
    return found


def type_condition(name: str) -> peewee.Expression:
    """Conversations of the type called `name`, or untyped ones (`none`)."""
    if name.lower() in agents.NOBODY:
        return Conversation.conversation_type.is_null()
    found = ConversationType.get_or_none(ConversationType.name == name.lower())
    if found is None:
        raise ConfigError(f"There is no type {name[:40]!r}; `deskterm type list` shows the types.")
    return Conversation.conversation_type == found.id


def owner_key(who: str) -> str:
    """An assignee filter as kept: `me`, `none`, or a known agent's handle."""
    key = who.strip().lstrip("@").lower()
    if key == agents.ME:
        return key
    if key in agents.NOBODY:
        return "none"
    return agents.get(who).handle


def described(filters: dict[str, str]) -> str:
    """The filters as the list's bar shows them: `channel:x Mine tag:y` (Mine and Unassigned
    by name, another agent as `assignee:HANDLE`)."""
    words = []
    for key in FILTER_KEYS:
        value = filters.get(key)
        if value:
            owner = OWNERS.get(value.lower()) if key == "assignee" else None
            words.append(owner or f"{key}:{value}")
    return " ".join(words)


def next_owner(current: str | None) -> str:
    """The assignee filter after `current` in the All -> Mine -> Unassigned cycle ("" is All);
    a filter on another agent goes back to All."""
    keys = list(OWNERS)
    key = current or ""
    return keys[(keys.index(key) + 1) % len(keys)] if key in keys else ""


def assignee_condition(who: str) -> peewee.Expression:
    """Conversations assigned to `who` (a handle, `me`), or to nobody (`none`)."""
    key = who.strip().lstrip("@").lower()
    if key in agents.NOBODY:
        return Conversation.assignee.is_null()
    handle = agents.me().handle if key == agents.ME else key
    return Conversation.assignee == handle


def narrowed(
    query: peewee.ModelSelect,
    status: str,
    channel: str | None,
    search: str | None,
    *,
    assignee: str | None = None,
    tag: str | None = None,
    type: str | None = None,
    field: str | None = None,
) -> peewee.ModelSelect:
    """The list's filters: a status (or all), a channel, an assignee (a handle, `me` or
    `none`), a tag, a type (`none`: untyped), a field's value (`NAME=VALUE`), and a search
    over subject, contact, message text, notes, field values and `#id`.

    A search that is only `#id` asks for that conversation: it is found whatever the status,
    channel, assignee and tag filters are (the agent knows which one they want).
    """
    search = (search or "").strip()
    if re.fullmatch(r"#\d{1,12}", search):
        lifecycle.checked(status, or_all=True)
        return query.where(Conversation.id == int(search[1:]))  # a conversation by number
    if lifecycle.checked(status, or_all=True) != "all":
        query = query.where(Conversation.status == status)
    if channel:
        query = query.where(Conversation.channel == channels.get(channel))
    if assignee:
        query = query.where(assignee_condition(assignee))
    if tag:
        tagged = ConversationTag.select(ConversationTag.conversation).where(
            ConversationTag.tag == tag.lower()
        )
        query = query.where(Conversation.id.in_(tagged))
    if type:
        query = query.where(type_condition(type))
    if field:
        name, _, value = field.partition("=")
        query = query.where(field_values.filter_condition(name, value))
    if search:
        query = query.where(search_condition(search))
    return query


def search_condition(search: str, within: peewee.ModelSelect | None = None) -> peewee.Expression:
    """Conversations whose contact (address or name), messages (subject, sender, text),
    internal notes, or number match; only among the ids `within` selects, when given.

    The matches are gathered first, each by its own index (contacts by a scan of the small
    contact table, their conversations by contact, messages by the full-text index), and the
    list's index is then walked once, each row looked up in that set. Testing every
    conversation's contact with LIKE instead (a JOIN per row) cost 60-70 ms at 100,000
    conversations even when nothing matched.

    The sets' shape differs by engine, each the fastest measured there (100,000
    conversations, one typed letter): SQLite walks one set of conversation ids best (two sets
    tested per row: 10-40 % slower); PostgreSQL makes that union distinct first and then
    joins it (280 ms), where testing each row's contact and id in two hashed sets takes 90.
    """
    search = fulltext.typed(search)
    contacts = Contact.select(Contact.id).where(
        Contact.email.contains(search) | Contact.name.contains(search)
    )
    by_contact = Conversation.select(Conversation.id).where(Conversation.contact.in_(contacts))
    by_text = messages_matching(search)
    if within is not None:
        by_contact = by_contact.where(Conversation.id.in_(within))
        # The window's messages by their conversation's index, each looked up in the set of
        # text matches (`messages_matching(..., by_id=False)`), not every text match by id
        # to see whether it is in the window: 16 ms for one letter.
        by_text = messages_matching(search, by_id=False).where(Message.conversation.in_(within))
    by_note = notes_matching(search)
    if by_note is not None and within is not None:
        by_note = by_note.where(Note.conversation.in_(within))
    by_field = field_values.search_condition(search)  # an order number, exactly
    if by_field is not None and within is not None:
        by_field = by_field.where(FieldValue.conversation.in_(within))
    if is_sqlite(Conversation._meta.database.obj):
        found = by_contact + by_text
        for more in (by_note, by_field):
            if more is not None:
                found = found + more
        condition = Conversation.id.in_(found)
    else:
        condition = Conversation.contact.in_(contacts) | Conversation.id.in_(by_text)
        for more in (by_note, by_field):
            if more is not None:
                condition |= Conversation.id.in_(more)
    number = search.removeprefix("#")
    if number.isdigit() and len(number) <= 12:
        condition |= Conversation.id == int(number)
    return condition


def notes_matching(search: str) -> peewee.ModelSelect | None:
    """Conversations with a note holding every word searched (None: no word to look for).

    A LIKE scan of the notes, not a full-text index: notes are few beside the mail (a
    handful per conversation at most), so the scan costs little, and they need no index kept
    on every write. Unlike the mail's search, a word may match inside another word, and
    accents count.
    """
    words = fulltext.words(search)  # the same words as the mail's search, as many at most
    if not words:
        return None
    condition = Note.text.contains(words[0])
    for word in words[1:]:
        condition &= Note.text.contains(word)
    return Note.select(Note.conversation).where(condition)


def messages_matching(search: str, *, by_id: bool = True) -> peewee.ModelSelect:
    """Conversations whose messages match (`fulltext`: each word as a prefix, on either
    engine). With `by_id` False, SQLite may not reach the messages through the matches' ids
    (the caller narrows them otherwise)."""
    condition = fulltext.message_condition(search, by_id=by_id)
    return Message.select(Message.conversation).where(condition)
