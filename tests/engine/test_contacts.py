"""Contact aliases: another address of a customer files its mail under the primary contact.

The engine (deskterm/desk/contacts.py) through the CLI an admin uses, and the ingest reading the
aliases: new mail from an alias, a `[#id]` token from an alias, merging a contact that already
exists. Plus the loop rule for our own mail coming back under a stranger's From.
"""

from __future__ import annotations

import pytest

from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched, Outcome
from deskterm.mail.parse import parse
from deskterm.store import connection
from deskterm.store.models import (
    Channel,
    Contact,
    ContactAlias,
    Conversation,
    Message,
    Organization,
    OrganizationDomain,
)
from tests.conftest import Desk
from tests.mailfactory import make_mail

WORK = "Jane Doe <jane@customer.example>"
HOME = "Jane <jane.doe@home.example>"


def ingest(channel: Channel, *mails: bytes) -> list[Outcome]:
    connection.open_database()
    try:
        batch = [Fetched(str(uid), b"", parse(raw)) for uid, raw in enumerate(mails, 1)]
        return Ingestor(Channel.get_by_id(channel.id)).apply(batch)
    finally:
        connection.close_database()


def contact_of(conversation_id: int | None) -> str:
    connection.open_database()
    try:
        return Conversation.get_by_id(conversation_id).contact.email
    finally:
        connection.close_database()


def counts() -> tuple[int, int]:
    connection.open_database()
    try:
        return Contact.select().count(), ContactAlias.select().count()
    finally:
        connection.close_database()


@pytest.fixture
def channel(draft_channel: Channel) -> Channel:
    return draft_channel


def test_mail_from_an_alias_is_filed_under_the_primary_contact(
    desk: Desk, channel: Channel
) -> None:
    [first] = ingest(channel, make_mail("Printer on fire", WORK))
    out = desk.run("contact", "alias", "jane@customer.example", "Jane <Jane.Doe@Home.Example>")
    assert out.stdout.strip() == "jane.doe@home.example is now an alias of jane@customer.example."
    [later] = ingest(channel, make_mail("Also the scanner", HOME))
    assert later.kind == "ingested"
    assert later.conversation_id != first.conversation_id  # a new subject: a new conversation
    assert contact_of(later.conversation_id) == "jane@customer.example"
    assert counts() == (1, 1)  # no contact of its own for the alias
    shown = desk.json("contact", "show", "jane.doe@home.example")
    assert [row["id"] for row in shown.pop("recent")] == [
        later.conversation_id,
        first.conversation_id,
    ]  # newest activity first
    assert shown == {
        "email": "jane@customer.example",
        "name": "Jane Doe",
        "organization": None,
        "aliases": ["jane.doe@home.example"],
        "conversations": 2,
        "fields": [],  # no conversation of a type with fields
    }


def test_a_subject_token_from_an_alias_is_trusted(desk: Desk, channel: Channel) -> None:
    [first] = ingest(channel, make_mail("Printer on fire", WORK))
    token = f"Re: [#{first.conversation_id}] Printer on fire"
    [stranger] = ingest(channel, make_mail(token, HOME, message_id="<s1@home.example>"))
    assert stranger.conversation_id != first.conversation_id  # not a participant yet
    desk.run("contact", "alias", "jane@customer.example", "jane.doe@home.example")
    [joined] = ingest(channel, make_mail(token, HOME, message_id="<s2@home.example>"))
    assert joined.conversation_id == first.conversation_id


def test_aliasing_an_existing_contact_merges_it(desk: Desk, channel: Channel) -> None:
    work, home = ingest(channel, make_mail("Printer", WORK), make_mail("Scanner", HOME))
    desk.run("contact", "alias", "jane.doe@home.example", "jane@old.example")
    assert counts() == (2, 1)
    out = desk.run("contact", "alias", "jane@customer.example", "jane.doe@home.example")
    assert "1 conversation(s) moved over" in out.stdout
    assert contact_of(home.conversation_id) == "jane@customer.example"
    assert contact_of(work.conversation_id) == "jane@customer.example"
    assert counts() == (1, 2)
    found = desk.json("contact", "show", "jane@old.example")  # the merged contact's alias too
    assert (found["email"], found["aliases"], found["conversations"]) == (
        "jane@customer.example",
        ["jane.doe@home.example", "jane@old.example"],
        2,
    )


def test_unalias_lets_the_address_stand_alone_again(desk: Desk, channel: Channel) -> None:
    ingest(channel, make_mail("Printer", WORK))
    desk.run("contact", "alias", "jane@customer.example", "jane.doe@home.example")
    out = desk.run("contact", "unalias", "jane.doe@home.example")
    assert (
        out.stdout.strip()
        == "jane.doe@home.example is no longer an alias of jane@customer.example."
    )
    [later] = ingest(channel, make_mail("Scanner", HOME))
    assert contact_of(later.conversation_id) == "jane.doe@home.example"
    assert counts() == (2, 0)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("jane@customer.example", "not an address"), "'not an address' is not an email address"),
        (("nobody@customer.example", "x@y.example"), "No contact has the address nobody@"),
        (("jane@customer.example", "JANE@customer.example"), "is the contact's own address"),
        (("bob@other.example", "jane.doe@home.example"), "already an alias of jane@customer"),
    ],
)
def test_alias_mistakes_are_one_sentence(
    desk: Desk, channel: Channel, args: tuple[str, str], error: str
) -> None:
    ingest(channel, make_mail("Printer", WORK), make_mail("Kettle", "Bob <bob@other.example>"))
    desk.run("contact", "alias", "jane@customer.example", "jane.doe@home.example")
    before = counts()
    result = desk.run("contact", "alias", *args, ok=False)
    assert result.exit_code == 1
    assert error in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert counts() == before


def test_our_own_reply_coming_back_under_another_sender_is_a_loop(
    desk: Desk, channel: Channel
) -> None:
    [first] = ingest(channel, make_mail("Printer on fire", WORK))
    desk.run("reply", str(first.conversation_id), "--body-file", "-", input="Unplug it.\n")
    connection.open_database()
    try:
        sent = Message.get(Message.direction == "out").message_id
    finally:
        connection.close_database()
    subject = f"Re: [#{first.conversation_id}] Printer on fire"
    echoed = make_mail(subject, "Customers list <list@lists.example>", message_id=sent)
    # Same shape and domain, but not a mail we sent (another desk on our domain): a person.
    other = make_mail("Hello", "Ann <ann@desk.test>", message_id="<deskterm.9.ab12@desk.test>")
    loop, person = ingest(channel, echoed, other)
    assert (loop.kind, loop.reason) == ("skipped", "loop: our own message came back")
    assert person.kind == "ingested"


def test_organization_by_domain_and_its_people_may_use_a_subject_token(channel: Channel) -> None:
    connection.open_database()
    try:
        acme = Organization.create(name="Customer Inc")
        OrganizationDomain.create(domain="customer.example", organization=acme)
    finally:
        connection.close_database()
    [first] = ingest(channel, make_mail("Printer on fire", WORK))
    connection.open_database()
    try:
        jane = Contact.get(Contact.email == "jane@customer.example")
        assert jane.organization.name == "Customer Inc"
    finally:
        connection.close_database()
    token = f"Re: [#{first.conversation_id}] Printer on fire"
    colleague = make_mail(token, "Tom <tom@customer.example>", message_id="<t1@customer.example>")
    stranger = make_mail(token, "Eve <eve@elsewhere.example>", message_id="<e1@elsewhere.example>")
    joined, apart = ingest(channel, colleague, stranger)
    assert joined.conversation_id == first.conversation_id  # the contact's organization
    assert apart.conversation_id != first.conversation_id


def test_addresses_with_controls_are_not_addresses(desk: Desk, channel: Channel) -> None:
    # Issue 10: an address holding C0/C1 controls is dropped at parse time, so it can never
    # become a contact, a recipient or a line on the terminal; the mail itself is kept.
    hostile = "bo\x1bcb\x9b31m@evil.example"
    raw = f"From: <{hostile}>\r\nTo: support@desk.test\r\nSubject: Hi\r\n\r\nHello\r\n"
    [outcome] = ingest(channel, raw.encode("utf-8"))
    assert outcome.kind == "ingested"
    connection.open_database()
    try:
        conversation = Conversation.get_by_id(outcome.conversation_id)
        assert conversation.contact_id is None
        assert Contact.select().where(Contact.email.contains("evil.example")).count() == 0
    finally:
        connection.close_database()
    refused = desk.run("contact", "alias", "nobody@customer.example", hostile, ok=False)
    assert refused.exit_code == 1 and "\x1b" not in refused.stderr
    assert "\x9b" not in refused.stderr
