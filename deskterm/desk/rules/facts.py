"""What a rule's conditions may ask of a mail: the parsed mail, plus what the desk knows
about it (the sender's organization, why it counts as automated), each worked out only when
a rule asks, since most mail meets rules that never do."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from deskterm.desk.contacts import primary_of
from deskterm.mail.parse import ParsedMail
from deskterm.store.models import Organization, OrganizationDomain


@dataclass
class Facts:
    """One mail as the rules see it. `automated` is the reason mail/automail.py gave (None:
    a person wrote it); `organization` looks the sender's organization up when first asked."""

    mail: ParsedMail
    new: bool = True  # starts a conversation (False: a follow-up to one)
    automated: str | None = None
    find_organization: Callable[[str], str | None] = field(default=lambda _a: None, repr=False)

    @functools.cached_property
    def organization(self) -> str | None:
        return self.find_organization(self.mail.from_addr) if self.mail.from_addr else None

    @property
    def domain(self) -> str:
        return self.mail.from_addr.rpartition("@")[2].lower()

    @property
    def recipients(self) -> list[str]:
        return [*self.mail.to, *self.mail.cc]

    @property
    def attachment_types(self) -> list[str]:
        return [part.content_type.lower() for part in self.mail.attachments]


def organization_of(address: str) -> str | None:
    """The name of the organization a sender belongs to: their contact's (an alias counts as
    its primary), else the one their domain maps to, as a new contact would get."""
    contact = primary_of(address)
    if contact is not None and contact.organization_id is not None:
        return str(contact.organization.name)
    domain = address.rpartition("@")[2].lower()
    row = (
        Organization.select(Organization.name)
        .join(OrganizationDomain)
        .where(OrganizationDomain.domain == domain)
        .first()
    )
    return None if row is None else str(row.name)
