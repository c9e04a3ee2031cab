"""`deskterm org ...` and `deskterm contact move` on the demo desk (issue 16, customers).

The demo knows Brightlane, Harbour Logistics and Northwind Traders by domain; its other
senders belong to none.
"""

from __future__ import annotations

from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.store import connection
from deskterm.store.models import Channel
from tests.cli.test_completion import complete
from tests.conftest import Desk
from tests.mailfactory import make_mail

EMMA = "emma.johnson@brightlane.example"  # two conversations, Brightlane's
LAURA = "laura.garcia@correo.example"  # in no organization


def one_sentence(desk: Desk, *args: str) -> str:
    result = desk.run(*args, ok=False)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    return result.stderr.strip()


def test_the_demos_organizations_are_listed_with_their_counts(desk: Desk, demo_desk: None) -> None:
    rows = desk.json("org", "list", "--json")
    assert [(r["name"], r["domains"], r["contacts"], r["conversations"]) for r in rows] == [
        ("Brightlane", ["brightlane.example"], 1, 2),
        ("Harbour Logistics", ["harbourlogistics.example"], 1, 1),
        ("Northwind Traders", ["northwind.example"], 1, 1),
    ]
    text = desk.run("org", "list").stdout.splitlines()
    assert text[0].startswith("Brightlane") and "brightlane.example" in text[0]


def test_add_show_and_remove_an_organization_with_its_domains(desk: Desk, demo_desk: None) -> None:
    out = desk.run("org", "add", "Correo Group", "--domain", "correo.example")
    assert out.stdout.strip() == "Organization 'Correo Group' added; 1 contact joined it."
    out = desk.run("org", "domain", "add", "correo group", "correio.example")
    assert out.stdout.strip() == (
        "correio.example now belongs to 'Correo Group'; 1 contact joined it."
    )
    shown = desk.json("org", "show", "Correo Group", "--json")
    assert shown["domains"] == ["correio.example", "correo.example"]
    assert [c["email"] for c in shown["contacts"]] == [
        "laura.garcia@correo.example",
        ("pedro.alves@correio.example"),
    ]
    assert shown["conversations"] == 2 and len(shown["recent"]) == 2
    text = desk.run("org", "show", "Correo Group").stdout
    assert "  domains: correio.example, correo.example\n" in text
    assert "    laura.garcia@correo.example  Laura García  (1 conversation)\n" in text
    assert "  conversations: 2 (" in text
    assert desk.json("contact", "show", LAURA)["organization"] == "Correo Group"
    out = desk.run("org", "domain", "remove", "CORREIO.example")
    assert out.stdout.strip() == (
        "correio.example no longer belongs to 'Correo Group'; 1 contact left it."
    )
    refused = one_sentence(desk, "org", "remove", "Correo Group")  # stdin is no terminal
    assert refused == "deskterm: Removing 'Correo Group' needs confirmation; add --yes to confirm."
    out = desk.run("org", "remove", "Correo Group", "--yes")
    assert out.stdout.strip() == "Organization 'Correo Group' removed; 1 contact left without one."
    assert desk.json("contact", "show", LAURA)["organization"] is None


def test_mistakes_are_one_sentence_saying_what_to_do(desk: Desk, demo_desk: None) -> None:
    said = one_sentence(desk, "org", "domain", "add", "Harbour Logistics", "brightlane.example")
    assert said == (
        "deskterm: brightlane.example belongs to 'Brightlane'; take it away there first: "
        "`deskterm org domain remove brightlane.example`."
    )
    said = one_sentence(desk, "org", "add", "NORTHWIND traders")
    assert said == (
        "deskterm: There is already an organization named 'Northwind Traders'; pick another name."
    )
    said = one_sentence(desk, "org", "show", "Acme")
    assert "There is no organization named 'Acme'; `deskterm org list` shows them." in said
    said = one_sentence(desk, "org", "domain", "add", "Brightlane", "not a domain")
    assert said == "deskterm: 'not a domain' is not a mail domain; give one like example.com."
    said = one_sentence(desk, "contact", "move", EMMA)
    assert "Name the organization to move the contact to, or give --none." in said


def test_contact_move_between_organizations_and_out(desk: Desk, demo_desk: None) -> None:
    out = desk.run("contact", "move", EMMA, "northwind traders")
    assert out.stdout.strip() == f"{EMMA} is now in 'Northwind Traders'."
    assert desk.json("org", "show", "Brightlane", "--json")["contact_count"] == 0
    assert desk.json("org", "show", "Northwind Traders", "--json")["conversations"] == 3
    moved = desk.json("contact", "move", EMMA, "--none", "--json")
    assert moved == {"contact": EMMA, "from": "Northwind Traders", "to": None}
    assert desk.json("contact", "show", EMMA)["organization"] is None


def test_a_hostile_contact_name_reaches_the_terminal_clean(desk: Desk, demo_desk: None) -> None:
    raw = make_mail("Hi", "=?utf-8?q?Eve=1B]52;c;aGk=3D=07=E2=80=AE?= <eve@brightlane.example>")
    connection.open_database()
    try:
        channel = Channel.get()
        Ingestor(channel).apply([Fetched("x1", b"", parse(raw))])
    finally:
        connection.close_database()
    text = desk.run("org", "show", "Brightlane").stdout
    assert "eve@brightlane.example" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


def test_organization_namescomplete(desk: Desk, demo_desk: None) -> None:
    assert complete("org", "show", "h") == ["plain,Harbour Logistics"]
    assert complete("org", "domain", "add", "") == [
        "plain,Brightlane",
        "plain,Harbour Logistics",
        "plain,Northwind Traders",
    ]
    assert complete("contact", "move", EMMA, "n") == ["plain,Northwind Traders"]
