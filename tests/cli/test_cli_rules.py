"""`deskterm rule add|edit|list|show|move|remove|test` as an admin uses them (issue 16), on
the demo desk (its team: sam, alex, kim); and a rule applied by `deskterm poll` to mail the
suite's real Dovecot holds, shown by `show` and `show --json`."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskterm.mail import patterns
from deskterm.store import connection
from deskterm.store.models import Conversation, RoutingRule, RuleMatch
from tests.conftest import Desk
from tests.engine.test_inbound import SUPPORT, channel, inbox, poll  # noqa: F401 (fixtures)
from tests.mailfactory import make_mail

BILLING = """
name = "billing"
[when]
subject_regex = 'invoice|refund'
[unless]
automated = "any"
[then]
priority = "high"
tags = ["billing"]
assign_round_robin = ["sam", "kim"]
"""


def write(desk: Desk, name: str, text: str | bytes) -> str:
    path = desk.home.parent / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_rules_are_added_listed_shown_moved_and_removed(desk: Desk, demo_desk: None) -> None:
    said = desk.run("rule", "add", "--file", write(desk, "billing.toml", BILLING)).output
    assert said.startswith("Rule 'billing' added at position 1;")
    example = desk.run("rule", "example").output
    desk.run(
        "rule",
        "add",
        "--file",
        write(
            desk,
            "example.toml",
            example.replace('name = "billing"', 'name = "from-example"').replace(
                'channel = "support"', ""
            ),
        ),
    )
    as_json = write(desk, "skip.json", '{"name": "noise", "then": {"skip": "newsletter"}}')
    desk.run("rule", "add", "--file", as_json)
    listed = desk.json("rule", "list")
    assert [(r["name"], r["position"]) for r in listed] == [
        ("billing", 1),
        ("from-example", 2),
        ("noise", 3),
    ]
    assert listed[0]["then"] == {
        "assign_round_robin": ["sam", "kim"],
        "priority": "high",
        "tags": ["billing"],
    }
    assert listed[0]["when"] == {"subject_regex": ["invoice|refund"]}
    assert listed[0]["unless"] == {"automated": ["any"]}
    assert listed[0]["channel"] is None
    assert "  1 billing " in desk.run("rule", "list").output
    shown = desk.run("rule", "show", "billing").output
    assert "when all of:\n   subject_regex = invoice|refund\nunless automated = any\n" in shown
    assert desk.run("rule", "move", "noise", "1").output == "Rule 'noise' is now at position 1.\n"
    assert [r["name"] for r in desk.json("rule", "move", "billing", "9")] == [
        "noise",
        "from-example",
        "billing",
    ]
    assert desk.run("rule", "remove", "from-example").output == "Rule 'from-example' removed.\n"
    assert [(r["name"], r["position"]) for r in desk.json("rule", "list")] == [
        ("noise", 1),
        ("billing", 2),
    ]


def test_a_wrong_rule_file_is_refused_with_the_key_and_what_to_do(
    desk: Desk, demo_desk: None
) -> None:
    wrong = write(desk, "wrong.toml", 'name = "x"\n[then]\nassign = "robin"\n')
    refused = desk.run("rule", "add", "--file", wrong, ok=False)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"deskterm: {wrong}: No agent is called 'robin'; `deskterm agent list` shows them.\n"
    )
    missing = desk.run("rule", "show", "nope", ok=False)
    assert missing.stderr == (
        "deskterm: There is no rule named 'nope'; `deskterm rule list` shows the rules.\n"
    )


def test_rule_test_shows_what_would_happen_and_stores_nothing(desk: Desk, demo_desk: None) -> None:
    desk.run("rule", "add", "--file", write(desk, "billing.toml", BILLING))
    slow = 'name = "slow"\n[when]\nsubject_regex = \'(a+)+$\'\n[then]\npriority = "low"\n'
    desk.run("rule", "add", "--file", write(desk, "slow.toml", slow))
    connection.open_database()
    before = (Conversation.select().count(), RuleMatch.select().count())
    connection.close_database()
    refund = write(desk, "refund.eml", make_mail("Refund please"))
    found = desk.json("rule", "test", refund)
    assert found["channel"] == "demo" and found["filtered"] is None and found["skip"] is None
    assert [(r["name"], r["matched"], r["held"]) for r in found["rules"]] == [
        ("billing", True, {"subject_regex": True}),
        ("slow", False, {"subject_regex": False}),
    ]
    assert [r["said"] for r in found["routed"]] == [
        "Routed by rule 'billing': priority high, tagged billing, assigned to sam in turn"
    ]
    # Asked again: still sam, since a test does not take a turn.
    text = desk.run("rule", "test", refund).output
    assert "Routed by rule 'billing': priority high, tagged billing, assigned to sam in turn\n" in (
        text
    )
    assert "  1 billing                  matched: subject_regex yes\n" in text
    # A hostile subject against the catastrophic pattern: that rule fails, bounded in time.
    hostile = write(desk, "hostile.eml", make_mail("a" * 5000 + "!"))
    found = desk.json("rule", "test", hostile)
    slow_verdict = found["rules"][1]
    assert slow_verdict["matched"] is False
    assert "took longer than" in slow_verdict["error"]
    assert [r["said"] for r in found["routed"]] == [
        "Rule 'slow' matched but failed: its regular expression '(a+)+$' took longer than "
        f"{patterns.TIMEOUT:g} s on this mail; it was not applied"
    ]
    # An automated mail the channel does not accept never reaches a rule.
    robot = write(
        desk, "robot.eml", make_mail("invoice", headers={"Auto-Submitted": "auto-replied"})
    )
    assert "The channel skips it before any rule is asked: automated mail" in (
        desk.run("rule", "test", robot).output
    )
    # A rule file not added yet, tried in the place of the saved rule of its name.
    draft = write(desk, "draft.toml", BILLING.replace("invoice|refund", "nothing-like-it"))
    found = desk.json("rule", "test", refund, "--file", draft)
    assert found["rules"][0]["matched"] is False and found["routed"] == []
    connection.open_database()
    assert (Conversation.select().count(), RuleMatch.select().count()) == before
    assert RoutingRule.get(RoutingRule.name == "billing").turn == 0
    assert RoutingRule.get(RoutingRule.name == "billing").conditions["when"] == {
        "subject_regex": ["invoice|refund"]
    }


def test_rule_test_takes_a_conversations_first_mail(desk: Desk, demo_desk: None) -> None:
    desk.run(
        "rule", "add", "--file", write(desk, "all.toml", 'name = "all"\n[then]\npriority = "low"\n')
    )
    found = desk.json("rule", "test", "--conversation", "1")
    assert (found["conversation"], found["channel"]) == (1, "demo")
    assert [r["said"] for r in found["routed"]] == ["Routed by rule 'all': priority low"]
    assert desk.json("show", "1")["priority"] != "low"
    refused = desk.run("rule", "test", ok=False)
    assert refused.stderr == (
        "deskterm: Give the mail to try: a MAILFILE, or --conversation ID (not both).\n"
    )


@pytest.mark.mailserver
def test_poll_routes_mail_from_dovecot_and_show_says_why(channel: Desk, inbox) -> None:  # noqa: F811
    channel.run("agent", "add", "sam@desk.example", "--name", "Sam Roe")
    channel.run("agent", "add", "kim@desk.example", "--name", "Kim Lee")
    channel.run("rule", "add", "--file", write(channel, "billing.toml", BILLING))
    for subject in ("Invoice 7 is wrong", "Refund for order 9", "Printer on fire"):
        inbox.deliver(make_mail(subject), SUPPORT)
    inbox.wait_for_messages(SUPPORT, 3)
    assert poll(channel)["run"]["ingested"] == 3
    rows = {r["subject"]: r for r in channel.json("conversations")}
    assert rows["Invoice 7 is wrong"]["assignee"] == "sam"
    assert rows["Refund for order 9"]["assignee"] == "kim"
    assert (rows["Printer on fire"]["assignee"], rows["Printer on fire"]["priority"]) == (
        None,
        "normal",
    )
    invoice = rows["Invoice 7 is wrong"]["id"]
    [message] = channel.json("show", str(invoice))["messages"]
    assert message["routing"] == [
        {
            "rule": "billing",
            "applied": {"assign_round_robin": "sam", "priority": "high", "tags": ["billing"]},
            "error": None,
            "said": "Routed by rule 'billing': priority high, tagged billing, "
            "assigned to sam in turn",
        }
    ]
    shown = channel.run("show", str(invoice)).output
    assert (
        "   Routed by rule 'billing': priority high, tagged billing, assigned to sam in turn\n"
        in (shown)
    )


def test_the_readme_shows_the_rule_file_that_rule_example_prints(desk: Desk) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = desk.run("rule", "example").output
    body = example.split("\n", 1)[1]  # after the line saying how to add it
    assert f"```toml\n{body}```" in readme
