"""Customers in the desk (issue 16): the Organizations screen (`U`), an organization's page and
a contact's page (`c` in a thread), driven by keys on the demo desk, checked in the database.

The demo knows Brightlane (Emma Johnson, two conversations), Harbour Logistics and Northwind
Traders by domain; its other senders belong to none.
"""

from __future__ import annotations

import base64

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from deskterm.app import DeskApp
from deskterm.desk import contacts, fields, organizations, types
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.screens.contact import ContactScreen
from deskterm.screens.organizations import OrganizationScreen, OrganizationsScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store import connection
from deskterm.store.models import Channel, Contact, Conversation
from tests.tui.test_app import drive, notices, screen_text, settle
from tests.tui.test_app_more import answer

EMMA = "emma.johnson@brightlane.example"


async def open_organization(pilot: Pilot[None], name: str) -> OrganizationScreen:
    app = pilot.app
    await pilot.press("U")
    await settle(pilot)
    assert isinstance(app.screen, OrganizationsScreen)
    names = [row["name"] for row in app.screen.rows]
    await pilot.press(*["j"] * names.index(name), "enter")
    await settle(pilot)
    assert isinstance(app.screen, OrganizationScreen)
    return app.screen


def test_u_lists_the_organizations_with_their_counts(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("U")
        await settle(pilot)
        assert isinstance(app.screen, OrganizationsScreen)
        text = screen_text(app)
        assert "Organizations" in text
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [
            ["Brightlane", "1", "2", "brightlane.example"],
            ["Harbour Logistics", "1", "1", "harbourlogistics.example"],
            ["Northwind Traders", "1", "1", "northwind.example"],
        ]
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, OrganizationsScreen)

    drive(scenario, size=(120, 40))


def test_an_organizations_page_adds_and_removes_a_domain(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        page = await open_organization(pilot, "Harbour Logistics")
        assert "domains: harbourlogistics.example" in screen_text(app)
        await pilot.press("plus")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await answer(pilot, "correo.example")
        assert app.screen is page
        assert "correo.example" in organizations.describe("Harbour Logistics")["domains"]
        assert contacts.describe("laura.garcia@correo.example")["organization"] == (
            "Harbour Logistics"
        )
        assert any("1 contact without an organization joined it" in n for n in notices(app))
        await settle(pilot)
        assert "laura.garcia@correo.example" in screen_text(app)
        await pilot.press("plus")
        await settle(pilot)
        await answer(pilot, "brightlane.example")  # Brightlane's: refused, in one sentence
        assert any(
            n == "brightlane.example belongs to 'Brightlane'; take it away there first: "
            "press - on that organization's page (U in the list)."
            for n in notices(app)
        )
        await pilot.press("minus")
        await settle(pilot)
        await answer(pilot, "correo.example")
        assert organizations.describe("Harbour Logistics")["domains"] == [
            "harbourlogistics.example"
        ]
        assert contacts.describe("laura.garcia@correo.example")["organization"] is None

    drive(scenario, size=(120, 40))


def test_m_moves_a_contact_and_enter_opens_its_page_and_a_conversation(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        page = await open_organization(pilot, "Brightlane")
        assert EMMA in screen_text(app)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"north", "tab", "enter")  # Tab completes the name
        await settle(pilot)
        assert contacts.describe(EMMA)["organization"] == "Northwind Traders"
        assert any(f"{EMMA} is now in 'Northwind Traders'." in n for n in notices(app))
        assert app.screen is page
        assert EMMA not in [row["email"] for row in page.rows]  # read again
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        page = await open_organization(pilot, "Northwind Traders")
        emails = [row["email"] for row in page.rows]
        await pilot.press(*["j"] * emails.index(EMMA), "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert "organization: Northwind Traders" in screen_text(app)
        await pilot.press("enter")  # the newest of her conversations
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert Conversation.get_by_id(app.screen.conversation_id).contact.email == EMMA

    drive(scenario, size=(120, 40))


def test_a_adds_an_organization_and_d_removes_it(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("U")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await answer(pilot, "Correo Group")
        assert isinstance(app.screen, OrganizationScreen)  # its page, to add domains
        assert "domains: none: + adds one" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OrganizationsScreen)
        names = [row["name"] for row in app.screen.rows]
        assert names == ["Brightlane", "Correo Group", "Harbour Logistics", "Northwind Traders"]
        await pilot.press("j", "d")
        await settle(pilot)
        await pilot.press("n")  # kept
        await settle(pilot)
        assert "Correo Group" in organizations.names()
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "Correo Group" not in organizations.names()
        assert [row["name"] for row in app.screen.rows] == [
            "Brightlane",
            "Harbour Logistics",
            "Northwind Traders",
        ]

    drive(scenario, size=(120, 40))


def test_c_in_the_thread_opens_the_contacts_page(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        emma = Conversation.select().join_from(Conversation, Conversation.contact.rel_model)
        first = emma.where(Conversation.contact.rel_model.email == EMMA).get().id
        app.push_screen(ThreadScreen(first))
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        text = screen_text(app)
        assert f"Emma Johnson <{EMMA}>" in text
        assert "organization: Brightlane" in text and "other addresses: none" in text
        assert "Conversations (2)" in text
        await pilot.press("m")
        await settle(pilot)
        await answer(pilot, "")  # empty: out of any organization
        assert contacts.describe(EMMA)["organization"] is None
        assert "organization: none" in screen_text(app)
        await pilot.press("c")  # back to the thread
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario, size=(120, 40))


def test_hostile_names_from_mail_are_shown_as_plain_text(demo_desk: None) -> None:
    hostile = "[@click=app.quit]Eve[/] \x1b]52;c;aGk=\x07"
    name = base64.b64encode(hostile.encode()).decode()
    raw = (
        f"From: =?utf-8?b?{name}?= <eve@brightlane.example>\r\nTo: support@desk.test\r\n"
        "Subject: Hi\r\nMessage-ID: <h1@brightlane.example>\r\n\r\nHello\r\n"
    ).encode()
    connection.open_database()
    try:
        Ingestor(Channel.get()).apply([Fetched("x1", b"", parse(raw))])
    finally:
        connection.close_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        page = await open_organization(pilot, "Brightlane")
        emails = [row["email"] for row in page.rows]
        assert "eve@brightlane.example" in emails
        text = screen_text(app)
        assert "[@click=app.quit]Eve[/]" in text  # shown as typed, not run as markup
        assert "\x1b" not in text and "\x07" not in text
        await pilot.press(*["j"] * emails.index("eve@brightlane.example"), "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        title = str(app.screen.query_one("#title", Static).content)
        assert title.startswith("[@click=app.quit]Eve[/]") and "\x1b" not in title
        assert app.is_running

    drive(scenario, size=(120, 40))


def test_the_contacts_page_shows_their_fields_values_inert(demo_desk: None) -> None:
    hostile = "[@click=app.quit]A-1[/] \x1b]52;c;aGk=\x07"
    connection.open_database()
    try:
        emma = Conversation.select().join(Contact).where(Contact.email == EMMA)
        first, second = sorted(c.id for c in emma)
        types.add("billing")
        types.add_field("billing", "order", "text")
        types.add_field("billing", "region", "choice", choices=["EU", "US"])
        for cid, order in ((first, hostile), (second, "A-2")):
            types.set_type(cid, "billing")
            fields.set_value(cid, "order", order)
            fields.set_value(cid, "region", "EU")
    finally:
        connection.close_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.push_screen(ThreadScreen(first))
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        shown = str(app.screen.query_one("#fields", Static).content)
        assert shown == (
            f"order: A-2 (#{second}), [@click=app.quit]A-1[/] ]52;c;aGk= (#{first})\n"
            f"region: EU (#{second}, 1 other)"
        )
        text = screen_text(app)
        assert f"region: EU (#{second}, 1 other)" in text  # on the page at 80x24
        assert "[@click=app.quit]A-1[/]" in text  # as typed, not run as markup
        assert "\x1b" not in text and "\x07" not in text
        assert "Conversations (2)" in text
        at = len(f"order: A-2 (#{second}), ") + 2  # on "A-1", past the padding
        await pilot.click("#fields", offset=(at, 0))  # a click on the value runs nothing
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, ContactScreen)

    drive(scenario)
