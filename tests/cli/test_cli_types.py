"""`deskterm type ...`, `field ...` and `agent admin` as an admin and a script use them
(issue 16): definitions, a conversation's type and fields in `show` and `conversations`,
refusals in one sentence, and who may define what."""

from __future__ import annotations

from deskterm.store import connection
from tests.conftest import Desk

FIRST = 1  # the demo's "Where is my order #48213?"


def test_an_admin_defines_a_type_and_an_agent_fills_its_fields(desk: Desk, demo_desk: None) -> None:
    connection.close_database()
    said = desk.run("type", "add", "billing", "--description", "Invoices").output
    assert said == "Type billing added; give it fields with `deskterm field add billing NAME`.\n"
    desk.run("field", "add", "billing", "order", "--required", "--default", "none")
    desk.run(
        "field",
        "add",
        "billing",
        "plan",
        "--kind",
        "choice",
        "--choice",
        "Basic",
        "--choice",
        "Pro",
        "--default",
        "basic",
    )
    desk.run("field", "add", "billing", "owner", "--kind", "agent", "--restricted")
    assert desk.json("type", "show", "billing")["fields"][1] == {
        "name": "plan",
        "kind": "choice",
        "choices": ["Basic", "Pro"],
        "default": "Basic",
        "required": False,
        "restricted": False,
    }
    listed = desk.run("type", "list").output
    assert listed.startswith("billing          Invoices")
    assert "order, plan, owner" in listed

    assert desk.run("type", "set", str(FIRST), "billing").output == "#1: of type billing.\n"
    shown = desk.json("field", "set", str(FIRST), "order", "A-1077")
    assert shown["type"] == "billing"
    assert [(f["name"], f["value"]) for f in shown["fields"]] == [
        ("order", "A-1077"),
        ("plan", "Basic"),
        ("owner", None),
    ]
    assert "Type billing; order: A-1077, plan: Basic, owner: -" in desk.run("show", "1").output
    [row] = desk.json("conversations", "--status", "all", "--field", "order=a-1077")
    assert (row["id"], row["type"], row["fields"]["order"]) == (FIRST, "billing", "A-1077")
    assert [r["id"] for r in desk.json("conversations", "--search", "A-1077")] == [FIRST]
    assert desk.json("conversations", "--type", "billing", "--status", "all")[0]["id"] == FIRST

    refused = desk.run("field", "set", str(FIRST), "order", "", ok=False)
    assert refused.stderr == "deskterm: order is required on #1; give it a value.\n"
    refused = desk.run("conversations", "--type", "refund", ok=False)
    assert refused.stderr == (
        "deskterm: There is no type 'refund'; `deskterm type list` shows the types.\n"
    )
    refused = desk.run("field", "set", "2", "order", "A-1", ok=False)
    assert refused.stderr == (
        "deskterm: #2 has no type, so no fields; give it one with `deskterm type set 2 TYPE` "
        "(`deskterm type list` shows them).\n"
    )


def test_once_an_admin_is_named_only_admins_define_and_change_restricted_fields(
    desk: Desk, demo_desk: None, monkeypatch
) -> None:
    connection.close_database()
    desk.run("type", "add", "billing")
    desk.run("field", "add", "billing", "owner", "--kind", "agent", "--restricted")
    desk.run("type", "set", str(FIRST), "billing")
    monkeypatch.setenv("DESKTERM_AGENT", "alex")
    assert desk.run("agent", "admin", "sam").output == "sam is an admin now.\n"
    assert desk.json("agent", "list")[2] == {**desk.json("agent", "list")[2], "admin": True}
    refused = desk.run("field", "set", str(FIRST), "owner", "kim", ok=False)
    assert refused.stderr == (
        "deskterm: Only an admin may change owner, which is restricted to admins; set "
        "DESKTERM_AGENT to an admin's handle (`deskterm agent list` shows who is one).\n"
    )
    assert "Only an admin may define conversation types" in (
        desk.run("type", "add", "refund", ok=False).stderr
    )
    assert (
        "Only an admin may make an agent an admin"
        in desk.run("agent", "add", "x@desk.example", "--name", "X", "--admin", ok=False).stderr
    )
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    shown = desk.json("field", "set", str(FIRST), "owner", "me")
    assert shown["fields"][0]["value"] == "sam"
    assert desk.run("type", "remove", "billing").output == (
        "Type billing removed; 1 conversation(s) are untyped now.\n"
    )


def test_type_edit_and_field_edit_change_what_is_given_and_keep_the_rest(
    desk: Desk, demo_desk: None
) -> None:
    connection.close_database()
    desk.run("type", "add", "billing")
    desk.run("field", "add", "billing", "plan", "--kind", "choice", "--choice", "Basic")
    said = desk.run("type", "edit", "billing", "--description", "Invoices").output
    assert said == "Type billing described anew.\n"
    said = desk.run(
        "field", "edit", "billing", "plan", "--choice", "Basic", "--choice", "Pro", "--required"
    ).output
    assert said == "Field plan of type billing changed.\n"
    desk.run("field", "edit", "billing", "plan", "--default", "pro")
    shown = desk.json("type", "show", "billing")
    assert shown["description"] == "Invoices"
    assert shown["fields"][0] == {
        "name": "plan",
        "kind": "choice",
        "choices": ["Basic", "Pro"],
        "default": "Pro",
        "required": True,
        "restricted": False,
    }
    refused = desk.run("field", "add", "billing", "tier", "--kind", "choice", ok=False)
    assert refused.stderr == (
        "deskterm: A choice field needs its choices; give them with --choice VALUE "
        "(once for each).\n"
    )
