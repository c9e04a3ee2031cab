"""Organizations and their domains (issue 16, customers), on SQLite and on real PostgreSQL.

The engine (deskterm/desk/organizations.py) keeps existing contacts in step with its one rule:
a new domain links that domain's contacts without an organization, a removed domain unlinks
the organization's contacts of it, a removed organization unlinks all of them; the ingest
files a new sender of a known domain under its organization.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from deskterm.desk import contacts, organizations, triage
from deskterm.errors import DeskError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store.models import Channel, Contact, Conversation, Organization, OrganizationDomain
from tests.mailfactory import make_mail


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


MAILS = itertools.count(1)


def ingest(channel: Channel, *senders: str) -> list[int]:
    """One new conversation from each sender (in order, a day apart); their ids."""
    mails = []
    for sender in senders:
        n = next(MAILS)
        date = datetime(2025, 3, 1, 9, tzinfo=UTC) + timedelta(days=n)
        mails.append(
            make_mail(f"Question {n}", sender, message_id=f"<q{n}@test.example>", date=date)
        )
    batch = [Fetched(str(uid), b"", parse(raw)) for uid, raw in enumerate(mails, 1)]
    ids = [outcome.conversation_id for outcome in Ingestor(channel).apply(batch)]
    assert None not in ids
    return [i for i in ids if i is not None]


def org_of(address: str) -> str | None:
    contact = Contact.get(Contact.email == address)
    return contact.organization.name if contact.organization_id else None


def test_a_new_sender_of_an_organizations_domain_joins_it_on_ingest(channel: Channel) -> None:
    organizations.add("Customer Inc", ["@Customer.EXAMPLE"])  # as a person may type it
    ingest(channel, "Tom <Tom@customer.example>", "Eve <eve@sub.customer.example>")
    assert org_of("tom@customer.example") == "Customer Inc"
    assert org_of("eve@sub.customer.example") is None  # a subdomain is a domain of its own


def test_adding_a_domain_links_only_its_contacts_without_an_organization(
    channel: Channel,
) -> None:
    ingest(
        channel,
        "Jane <jane@customer.example>",
        "Tom <tom@customer.example>",
        "Ann <ann@other.example>",
        "Bob <bob@notcustomer.example>",
    )
    organizations.add("Partner")
    organizations.move_contact("tom@customer.example", "Partner")  # put there by hand
    done = organizations.add("Customer Inc", ["customer.example"])
    assert done == {"name": "Customer Inc", "domains": ["customer.example"], "linked": 1}
    assert org_of("jane@customer.example") == "Customer Inc"
    assert org_of("tom@customer.example") == "Partner"  # a move by hand stands
    assert org_of("ann@other.example") is None
    assert org_of("bob@notcustomer.example") is None  # the suffix is the whole domain
    again = organizations.add_domain("customer inc", "customer.example")  # any case
    assert again["linked"] == 0


def test_a_domain_belongs_to_one_organization(channel: Channel) -> None:
    organizations.add("Customer Inc", ["customer.example"])
    organizations.add("Rival")
    with pytest.raises(DeskError, match=r"customer.example belongs to 'Customer Inc'; take it"):
        organizations.add_domain("Rival", "CUSTOMER.example")
    with pytest.raises(DeskError, match="belongs to 'Customer Inc'"):
        organizations.add("Third", ["third.example", "customer.example"])
    # Nothing of the refused organization was kept, not even its first domain.
    assert Organization.get_or_none(Organization.name == "Third") is None
    assert OrganizationDomain.get_or_none(OrganizationDomain.domain == "third.example") is None
    assert organizations.describe("Rival")["domains"] == []


def test_removing_a_domain_unlinks_that_organizations_contacts_of_it(channel: Channel) -> None:
    ingest(
        channel,
        "Jane <jane@customer.example>",
        "Ann <ann@customer.org.example>",
        "Tom <tom@customer.example>",
    )
    organizations.add("Customer Inc", ["customer.example", "customer.org.example"])
    organizations.add("Partner")
    organizations.move_contact("tom@customer.example", "Partner")
    done = organizations.remove_domain("customer.example")
    assert done == {"name": "Customer Inc", "domain": "customer.example", "unlinked": 1}
    assert org_of("jane@customer.example") is None
    assert org_of("ann@customer.org.example") == "Customer Inc"
    assert org_of("tom@customer.example") == "Partner"  # not this organization's member
    [later] = ingest(channel, "Max <max@customer.example>")
    assert org_of("max@customer.example") is None
    with pytest.raises(NotFound, match=r"customer.example belongs to no organization"):
        organizations.remove_domain("customer.example")
    assert Conversation.get_by_id(later).contact.email == "max@customer.example"


def test_removing_an_organization_keeps_its_contacts_and_conversations(
    channel: Channel,
) -> None:
    ids = ingest(channel, "Jane <jane@customer.example>", "Tom <tom@customer.example>")
    organizations.add("Customer Inc", ["customer.example"])
    assert organizations.remove("customer INC") == {"name": "Customer Inc", "unlinked": 2}
    assert Organization.select().count() == 0 and OrganizationDomain.select().count() == 0
    assert org_of("jane@customer.example") is None
    assert Conversation.select().where(Conversation.id.in_(ids)).count() == 2
    with pytest.raises(NotFound, match="no organization named 'Customer Inc'; `deskterm org"):
        organizations.describe("Customer Inc")


def test_a_contact_moves_by_any_of_its_addresses_and_stays_moved(channel: Channel) -> None:
    ingest(channel, "Jane <jane@customer.example>")
    organizations.add("Customer Inc", ["customer.example"])
    organizations.add("Holding")
    contacts.add_alias("jane@customer.example", "jane@home.example")
    done = organizations.move_contact("Jane <JANE@home.example>", "holding")
    assert done == {"contact": "jane@customer.example", "from": "Customer Inc", "to": "Holding"}
    ingest(channel, "Jane <jane@customer.example>")  # her domain's mail again
    assert org_of("jane@customer.example") == "Holding"
    assert contacts.describe("jane@home.example")["organization"] == "Holding"
    done = organizations.move_contact("jane@customer.example", None)
    assert (done["from"], done["to"]) == ("Holding", None)
    assert org_of("jane@customer.example") is None
    with pytest.raises(NotFound, match="no organization named 'Nowhere'"):
        organizations.move_contact("jane@customer.example", "Nowhere")
    with pytest.raises(NotFound, match=r"No contact has the address x@y.example"):
        organizations.move_contact("x@y.example", "Holding")


def test_describe_and_the_list_count_domains_contacts_and_conversations(
    channel: Channel,
) -> None:
    jane_1, tom, _ann, jane_2 = ingest(
        channel,
        "Jane <jane@customer.example>",
        "Tom <tom@customer.example>",
        "Ann <ann@other.example>",
        "Jane <jane@customer.example>",
    )
    organizations.add("Customer Inc", ["customer.example", "customer.org.example"])
    organizations.add("Empty")
    triage.set_status(tom, "resolved")
    triage.set_status(jane_2, "pending")
    found = organizations.describe("Customer Inc")
    assert found["domains"] == ["customer.example", "customer.org.example"]
    assert found["contact_count"] == 2
    assert found["contacts"] == [
        {"email": "jane@customer.example", "name": "Jane", "conversations": 2},
        {"email": "tom@customer.example", "name": "Tom", "conversations": 1},
    ]
    assert found["conversations"] == 3
    assert found["by_status"] == {"open": 1, "pending": 1, "resolved": 1}
    assert [row["id"] for row in found["recent"]][-1] == jane_1  # the oldest activity last
    assert {row["id"] for row in found["recent"]} == {jane_1, tom, jane_2}
    assert organizations.describe("Customer Inc", contacts_limit=1)["contacts"][0]["email"] == (
        "jane@customer.example"
    )
    assert organizations.all_organizations() == [
        {
            "name": "Customer Inc",
            "domains": ["customer.example", "customer.org.example"],
            "contacts": 2,
            "conversations": 3,
        },
        {"name": "Empty", "domains": [], "contacts": 0, "conversations": 0},
    ]


def test_names_are_one_line_and_unique_in_any_case(channel: Channel) -> None:
    added = organizations.add("  Acme\x1b[31m\nLtd\u202e ")
    assert added["name"] == "Acme[31m Ltd"
    with pytest.raises(DeskError, match="already an organization named 'Acme\\[31m Ltd'"):
        organizations.add("ACME[31M LTD")
    with pytest.raises(DeskError, match="needs a name"):
        organizations.add(" \x07 ")
    assert organizations.names() == ["Acme[31m Ltd"]


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "localhost",
        "jane@customer.example",
        "cust omer.example",
        "a..example",
        "-a.example",
        "evil\x1b.example",
        "x_y.example",
    ],
)
def test_what_is_not_a_domain_is_refused(channel: Channel, typed: str) -> None:
    organizations.add("Customer Inc")
    with pytest.raises(DeskError, match=r"is not a mail domain; give one like example.com"):
        organizations.add_domain("Customer Inc", typed)
    assert OrganizationDomain.select().count() == 0


def test_an_international_domain_is_kept_as_senders_addresses_keep_it(channel: Channel) -> None:
    organizations.add("Bücher", ["BÜCHER.example"])
    # An internationalized From, raw UTF-8 (RFC 6532), as a modern client sends it.
    raw = "From: Jörg <jörg@bücher.example>\r\nTo: s@desk.test\r\nSubject: Hi\r\n\r\nhi\r\n"
    Ingestor(channel).apply([Fetched("1", b"", parse(raw.encode("utf-8")))])
    assert org_of("jörg@bücher.example") == "Bücher"
