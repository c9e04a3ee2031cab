"""Organizations (customers) and the mail domains that are theirs.

A domain belongs to one organization: mail from it makes a new contact a member on ingest
(`inbound/senders.py`). Managing them here keeps the existing contacts in step, by one rule
an admin can predict:

- adding a domain links the contacts of that domain that have no organization yet; a contact
  someone moved to another organization by hand stays where it was put;
- removing a domain unlinks the organization's contacts of that domain (whoever linked them),
  so the organization keeps only the people its remaining domains or a move give it;
- removing an organization unlinks all its contacts and forgets its domains; conversations
  and contacts are never deleted.

A contact's organization is looked up by its primary address's domain (aliases never change
it). Names come from admins, addresses and display names from mail: callers show both through
`one_line`, never as markup.
"""

from __future__ import annotations

from typing import Any

import peewee

from deskterm.desk.contacts import normal_address, primary_of
from deskterm.errors import DeskError, NotFound
from deskterm.mail import addresses
from deskterm.sanitize import one_line
from deskterm.store.db import database, iso
from deskterm.store.models import Contact, Conversation, Organization, OrganizationDomain

MAX_NAME_CHARS = 200
RECENT = 20  # the newest conversations `describe` lists


def normal_name(text: str) -> str:
    """An organization's name as stored: one line, trimmed, not empty, not endless."""
    name = one_line(text).strip()
    if not name:
        raise DeskError("An organization needs a name; give one like 'Example Ltd'.")
    if len(name) > MAX_NAME_CHARS:
        raise DeskError(f"That name is longer than {MAX_NAME_CHARS} characters; shorten it.")
    return name


def normal_domain(text: str) -> str:
    """A domain as sender addresses store theirs (lower case, IDN as Unicode), so that the
    ingest's lookup of `jane@Example.COM` finds `example.com`; `@example.com` is accepted."""
    typed = text.strip().lstrip("@")
    address = addresses.normal(f"x@{typed}")
    if not typed or "@" in typed or not addresses.valid(address):
        raise DeskError(
            f"{one_line(text.strip())!r} is not a mail domain; give one like example.com."
        )
    return address.rpartition("@")[2]


def get(name: str) -> Organization:
    """The organization of this name, any case; NotFound says how to list them."""
    wanted = one_line(name).strip()
    found = Organization.get_or_none(Organization.name == wanted) or Organization.get_or_none(
        peewee.fn.LOWER(Organization.name) == wanted.lower()
    )
    if found is None:
        raise NotFound(
            f"There is no organization named {wanted!r}; `deskterm org list` shows them."
        )
    return found


def add(name: str, domains: list[str] | None = None) -> dict[str, Any]:
    """A new organization with its domains (each linking its contacts), in one transaction."""
    name = normal_name(name)
    wanted = [normal_domain(d) for d in domains or []]
    with database.atomic():
        clash = Organization.get_or_none(peewee.fn.LOWER(Organization.name) == name.lower())
        if clash is not None:
            raise DeskError(
                f"There is already an organization named {clash.name!r}; pick another name."
            )
        organization = Organization.create(name=name)
        linked = sum(_add_domain(organization, domain) for domain in dict.fromkeys(wanted))
    return {"name": name, "domains": sorted(set(wanted)), "linked": linked}


def remove(name: str) -> dict[str, Any]:
    """Forget an organization and its domains; its contacts stay, without an organization."""
    with database.atomic():
        organization = get(name)
        unlinked = (
            Contact.update(organization=None)
            .where(Contact.organization == organization.id)
            .execute()
        )
        OrganizationDomain.delete().where(
            OrganizationDomain.organization == organization.id
        ).execute()
        organization.delete_instance()
    return {"name": organization.name, "unlinked": unlinked}


def add_domain(name: str, domain: str) -> dict[str, Any]:
    """Give the organization a domain; returns how many existing contacts joined it."""
    wanted = normal_domain(domain)
    with database.atomic():
        organization = get(name)
        linked = _add_domain(organization, wanted)
    return {"name": organization.name, "domain": wanted, "linked": linked}


def _add_domain(organization: Organization, domain: str) -> int:
    owner = OrganizationDomain.get_or_none(OrganizationDomain.domain == domain)
    if owner is not None:
        if owner.organization_id == organization.id:
            return 0
        raise DeskError(
            f"{domain} belongs to {owner.organization.name!r}; take it away there first: "
            f"`deskterm org domain remove {domain}`."
        )
    OrganizationDomain.create(domain=domain, organization=organization.id)
    return int(
        Contact.update(organization=organization.id)
        .where(Contact.organization.is_null() & _of_domain(domain))
        .execute()
    )


def remove_domain(domain: str) -> dict[str, Any]:
    """Take a domain from its organization; that organization's contacts of it are unlinked."""
    wanted = normal_domain(domain)
    with database.atomic():
        row = OrganizationDomain.get_or_none(OrganizationDomain.domain == wanted)
        if row is None:
            raise NotFound(f"{wanted} belongs to no organization; `deskterm org list` shows them.")
        organization = row.organization
        unlinked = (
            Contact.update(organization=None)
            .where((Contact.organization == organization.id) & _of_domain(wanted))
            .execute()
        )
        row.delete_instance()
    return {"name": organization.name, "domain": wanted, "unlinked": unlinked}


def _of_domain(domain: str) -> peewee.Expression:
    """Contacts whose address is at exactly this domain (not a subdomain, not a longer one).
    Stored addresses are lower case and hold one `@`, so a suffix match is exact; LIKE's own
    wildcards in a domain cannot occur (`_` is not valid in one, and `%` neither)."""
    return Contact.email.endswith(f"@{domain}")


def move_contact(address: str, name: str | None) -> dict[str, Any]:
    """Put a contact (by any of its addresses) in another organization, or in none."""
    wanted = normal_address(address)
    with database.atomic():
        contact = primary_of(wanted)
        if contact is None:
            raise NotFound(f"No contact has the address {wanted}; check the spelling.")
        before = contact.organization.name if contact.organization_id else None
        target = get(name) if name else None
        contact.organization = target.id if target else None
        contact.save()
    return {"contact": contact.email, "from": before, "to": target.name if target else None}


def names() -> list[str]:
    """Every organization's name, for completion and the TUI's prompts."""
    return [
        n for (n,) in Organization.select(Organization.name).order_by(Organization.name).tuples()
    ]


def all_organizations() -> list[dict[str, Any]]:
    """Each organization with its domains and how many contacts and conversations it has."""
    domains: dict[int, list[str]] = {}
    for domain, org in OrganizationDomain.select(
        OrganizationDomain.domain, OrganizationDomain.organization
    ).tuples():
        domains.setdefault(org, []).append(domain)
    contacts = dict(
        Contact.select(Contact.organization, peewee.fn.COUNT(Contact.id))
        .where(Contact.organization.is_null(False))
        .group_by(Contact.organization)
        .tuples()
    )
    conversations = dict(
        Conversation.select(Contact.organization, peewee.fn.COUNT(Conversation.id))
        .join(Contact)
        .where(Contact.organization.is_null(False))
        .group_by(Contact.organization)
        .tuples()
    )
    rows = [
        {
            "name": org.name,
            "domains": sorted(domains.get(org.id, [])),
            "contacts": contacts.get(org.id, 0),
            "conversations": conversations.get(org.id, 0),
        }
        for org in Organization.select()
    ]
    return sorted(rows, key=lambda row: (row["name"].casefold(), row["name"]))


def describe(name: str, *, contacts_limit: int | None = None) -> dict[str, Any]:
    """One organization: its domains, contacts (each with its conversations' count) and its
    conversations (the count by status and the newest `RECENT`, newest activity first)."""
    organization = get(name)
    members = Contact.select().where(Contact.organization == organization.id)
    per_contact = dict(
        Conversation.select(Conversation.contact, peewee.fn.COUNT(Conversation.id))
        .join(Contact)
        .where(Contact.organization == organization.id)
        .group_by(Conversation.contact)
        .tuples()
    )
    listed = members.order_by(Contact.email)
    if contacts_limit is not None:
        listed = listed.limit(contacts_limit)
    theirs = Conversation.select().join(Contact).where(Contact.organization == organization.id)
    by_status = dict(
        theirs.select(Conversation.status, peewee.fn.COUNT(Conversation.id))
        .group_by(Conversation.status)
        .tuples()
    )
    recent = (
        Conversation.select(
            Conversation.id,
            Conversation.subject,
            Conversation.status,
            Conversation.updated_at,
            Contact.email,
        )
        .join(Contact)
        .where(Contact.organization == organization.id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(RECENT)
        .tuples()
    )
    return {
        "name": organization.name,
        "created_at": iso(organization.created_at),
        "domains": sorted(d.domain for d in organization.domains),
        "contact_count": members.count(),
        "contacts": [
            {"email": c.email, "name": c.name, "conversations": per_contact.get(c.id, 0)}
            for c in listed
        ],
        "conversations": sum(by_status.values()),
        "by_status": by_status,
        "recent": [
            {
                "id": cid,
                "subject": subject,
                "status": status,
                "contact": email,
                "updated_at": iso(updated),
            }
            for cid, subject, status, updated, email in recent
        ],
    }
