"""Who mail comes from: the contacts of a channel's senders, created on a sender's first mail.

An alias address (ContactAlias) stands for its primary contact, and a new contact joins the
organization its domain belongs to (OrganizationDomain).
"""

from __future__ import annotations

from deskterm.inbound.columns import CONTACT_COLUMNS
from deskterm.mail.parse import ParsedMail
from deskterm.store.bulk import RowWriter, select_in
from deskterm.store.db import utcnow
from deskterm.store.models import Contact, ContactAlias, OrganizationDomain


class Senders:
    """The senders an ingestor has met, mapped to their contacts, across its batches."""

    def __init__(self) -> None:
        self.contacts: dict[str, int] = {}  # email -> contact id
        self.emails: dict[int | None, str] = {}  # and back
        self._rows = RowWriter(Contact, CONTACT_COLUMNS)
        self._domains: dict[str, int] | None = None

    def load(self, addresses: set[str]) -> None:
        """The batch's senders' contacts; an alias address stands for its primary contact."""
        missing = [a for a in addresses if a not in self.contacts]
        for contact_id, email in select_in(Contact, ["id", "email"], "email", missing):
            self.contacts[email] = contact_id
            self.emails[contact_id] = email
        aliases = dict(select_in(ContactAlias, ["email", "contact"], "email", missing))
        primaries = select_in(Contact, ["id", "email"], "id", list(aliases.values()))
        for contact_id, email in primaries:
            self.emails[contact_id] = email
        for alias, contact_id in aliases.items():
            self.contacts[alias] = contact_id

    def contact(self, mail: ParsedMail) -> int | None:
        """The contact of the mail's sender, created if it is new (None: no sender)."""
        address = mail.from_addr
        if not address:
            return None
        if address not in self.contacts:
            contact_id = self._rows.insert(
                {
                    "email": address,
                    "name": mail.from_name,
                    "organization": self.organization_of(address),
                    "created_at": utcnow(),
                }
            )
            self.contacts[address] = contact_id
            self.emails[contact_id] = address
        return self.contacts[address]

    def organization_of(self, address: str) -> int | None:
        """The organization the address's domain belongs to (OrganizationDomain), if any."""
        if self._domains is None:  # a small table: read once per ingestor
            self._domains = dict(
                OrganizationDomain.select(
                    OrganizationDomain.domain, OrganizationDomain.organization
                ).tuples()
            )
        return self._domains.get(address.rpartition("@")[2])
