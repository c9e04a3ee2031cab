"""Contacts and their other addresses.

A customer writes from a work and a private address, or from an old one: each would otherwise
become a contact of its own with conversations of its own. An alias maps such an address to the
primary contact, so the ingest files its mail under that contact (new conversations, `[#id]`
trust, replies to the primary address). Making an address that is already a contact an alias
merges the two: its conversations and aliases move to the primary contact, in one transaction.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

import peewee

from deskterm.errors import DeskError, NotFound
from deskterm.sanitize import one_line
from deskterm.store.db import database, iso
from deskterm.store.models import (
    Contact,
    ContactAlias,
    Conversation,
    ConversationType,
    FieldValue,
    TypeField,
)


def normal_address(text: str) -> str:
    """A bare, lower-case address from what a person typed (`Jane <J@x>` or `j@x`)."""
    address = parseaddr(text.strip())[1].strip().lower()
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain.strip(".") or any(c.isspace() for c in address):
        raise DeskError(
            f"{text.strip()!r} is not an email address; give one like jane@example.com."
        )
    return address


def primary_of(address: str) -> Contact | None:
    """The contact an address belongs to, through an alias or as its own."""
    alias = ContactAlias.get_or_none(ContactAlias.email == address)
    if alias is not None:
        return alias.contact
    return Contact.get_or_none(Contact.email == address)


def add_alias(primary: str, alias: str) -> dict[str, Any]:
    """Make `alias` another address of the contact `primary`; returns what was done."""
    primary_address, alias_address = normal_address(primary), normal_address(alias)
    if primary_address == alias_address:
        raise DeskError(f"{alias_address} is the contact's own address; give another one.")
    with database.atomic():
        contact = primary_of(primary_address)
        if contact is None:
            raise NotFound(f"No contact has the address {primary_address}; check the spelling.")
        existing = ContactAlias.get_or_none(ContactAlias.email == alias_address)
        if existing is not None:
            if existing.contact_id == contact.id:
                return {"contact": contact.email, "alias": alias_address, "merged": 0}
            raise DeskError(
                f"{alias_address} is already an alias of {existing.contact.email}; remove it "
                f"there first (deskterm contact unalias {alias_address})."
            )
        if alias_address == contact.email:
            raise DeskError(f"{alias_address} is the contact's own address; give another one.")
        merged = 0
        other = Contact.get_or_none(Contact.email == alias_address)
        if other is not None:
            merged = (
                Conversation.update(contact=contact.id)
                .where(Conversation.contact == other.id)
                .execute()
            )
            ContactAlias.update(contact=contact.id).where(
                ContactAlias.contact == other.id
            ).execute()
            if not contact.name and other.name:
                contact.name = other.name
                contact.save()
            other.delete_instance()
        ContactAlias.create(email=alias_address, contact=contact.id)
    return {"contact": contact.email, "alias": alias_address, "merged": merged}


def remove_alias(alias: str) -> str:
    """Forget an alias; later mail from it starts a contact of its own. Returns the primary."""
    address = normal_address(alias)
    row = ContactAlias.get_or_none(ContactAlias.email == address)
    if row is None:
        raise NotFound(f"{address} is not an alias of any contact.")
    primary = row.contact.email
    row.delete_instance()
    return primary


RECENT = 20  # the newest conversations a contact's page lists
FIELD_VALUES = 5  # the distinct values per field a contact's page lists (newest first)
VALUE_WIDTH = 40  # characters of a value on the page's line (a text value may have 500)


def describe(address: str) -> dict[str, Any]:
    """A contact by any of its addresses (the contact's page, `contact show`): primary address,
    name, organization, aliases, how many conversations and the newest of them, and the
    custom fields' values across all of them (`contact_fields`)."""
    contact = primary_of(normal_address(address))
    if contact is None:
        raise NotFound(f"No contact has the address {normal_address(address)}.")
    recent = (
        Conversation.select(
            Conversation.id, Conversation.subject, Conversation.status, Conversation.updated_at
        )
        .where(Conversation.contact == contact.id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(RECENT)
        .tuples()
    )
    return {
        "email": contact.email,
        "name": contact.name,
        "organization": contact.organization.name if contact.organization_id else None,
        "aliases": sorted(a.email for a in contact.aliases),
        "conversations": contact.conversations.count(),
        "recent": [
            {"id": cid, "subject": subject, "status": status, "updated_at": iso(updated)}
            for cid, subject, status, updated in recent
        ],
        "fields": contact_fields(contact.id),
    }


def contact_fields(contact_id: int) -> list[dict[str, Any]]:
    """The custom fields' values of a contact's conversations, one entry per field of a type
    (`{field, type, kind, values: [{value, conversation_id, conversations}], more}`), so an
    agent sees a customer's order numbers or region without opening each conversation.

    Each distinct value is listed once, with the newest conversation holding it and how many
    do; at most FIELD_VALUES per field, newest first, `more` counting the rest. One grouped
    query however many conversations the contact has."""
    newest = peewee.fn.MAX(FieldValue.conversation)
    rows = (
        FieldValue.select(
            ConversationType.name,
            TypeField.name,
            TypeField.kind,
            FieldValue.value,
            newest,
            peewee.fn.COUNT(FieldValue.id),
        )
        .join(TypeField)
        .join(ConversationType)
        .switch(FieldValue)
        .join(Conversation)
        .where(Conversation.contact == contact_id)
        .group_by(
            ConversationType.name,
            TypeField.name,
            TypeField.kind,
            TypeField.position,
            FieldValue.value,
        )
        .order_by(ConversationType.name, TypeField.position, TypeField.name, newest.desc())
        .tuples()
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for type_name, name, kind, value, conversation_id, count in rows:
        entry = found.setdefault(
            (type_name, name),
            {"field": name, "type": type_name, "kind": kind, "values": [], "more": 0},
        )
        if len(entry["values"]) < FIELD_VALUES:
            entry["values"].append(
                {"value": value, "conversation_id": conversation_id, "conversations": count}
            )
        else:
            entry["more"] += 1
    return list(found.values())


def field_lines(fields: list[dict[str, Any]]) -> list[str]:
    """`contact_fields` as the contact's page and `contact show` print them, one line per
        field: "order: A-1090 (#15), A-1077 (#12), +3 more". A field name that two types share
        is qualified by its type ("billing order"). Values came from mail: one line each, cut at
    VALUE_WIDTH (`--json` has them whole)."""
    names = [entry["field"] for entry in fields]
    lines = []
    for entry in fields:
        label = entry["field"]
        if names.count(label) > 1:
            label = f"{entry['type']} {label}"
        shown = []
        for held in entry["values"]:
            others = held["conversations"] - 1
            also = f", {others} other{'s' if others > 1 else ''}" if others else ""
            value = one_line(held["value"])
            value = value if len(value) <= VALUE_WIDTH else value[: VALUE_WIDTH - 1] + "…"
            shown.append(f"{value} (#{held['conversation_id']}{also})")
        if entry["more"]:
            shown.append(f"+{entry['more']} more")
        lines.append(f"{one_line(label)}: {', '.join(shown)}")
    return lines


def change_aliases(primary: str, text: str) -> list[str]:
    """Apply what an agent typed in the thread: `+addr` or a plain address adds an alias,
    `-addr` removes one (e.g. "+jane@home.example -jd@old.example"). Every address is checked
    before any change, and all changes are one transaction; returns the aliases now."""
    changes: list[tuple[str, str]] = []
    for word in text.split():
        sign, address = (word[0], word[1:]) if word[0] in "+-" else ("+", word)
        changes.append((sign, normal_address(address)))
    with database.atomic():
        for sign, address in changes:
            if sign == "+":
                add_alias(primary, address)
            else:
                remove_alias(address)
        return describe(primary)["aliases"]
