"""Trying the rules on a conversation's first mail (the app's `t` in the rules list, `rule
test --conversation`), on SQLite and the suite's real PostgreSQL: the verdicts are those of
the mail as it came, the conversation's channel is the one asked, and nothing is stored."""

from __future__ import annotations

import pytest

from deskterm.desk.rules import trial
from deskterm.errors import NotFound
from deskterm.store.models import Channel, Conversation, RoutingRule, RuleMatch
from tests.engine.test_routing_rules import channel, ingest, mail, rule  # noqa: F401


def test_a_conversations_first_mail_is_tried_against_the_rules_storing_nothing(
    channel: Channel,  # noqa: F811
) -> None:
    [first] = ingest(channel, mail("Your invoice 42 is wrong"))
    rule(
        """
        name = "billing"
        [when]
        subject = "invoice"
        [then]
        priority = "high"
        assign_round_robin = ["sam", "kim"]
        """
    )
    rule('name = "refunds"\n[when]\nsubject = "refund"\n[then]\npriority = "low"\n')
    before = (Conversation.get_by_id(first.conversation_id).priority, RuleMatch.select().count())
    found = trial.trial_conversation(first.conversation_id)
    assert found["conversation"] == first.conversation_id and found["channel"] == "support"
    assert [(r["name"], r["matched"]) for r in found["rules"]] == [
        ("billing", True),
        ("refunds", False),
    ]
    said = trial.lines(found)
    assert said[0] == "As a new conversation (channel support):"
    assert said[1].startswith("  1 billing ") and said[1].endswith("matched: subject yes")
    assert said[-1] == "Routed by rule 'billing': priority high, assigned to sam in turn"
    assert trial.trial_conversation(first.conversation_id)["routed"] == found["routed"]
    assert (Conversation.get_by_id(first.conversation_id).priority, RuleMatch.select().count()) == (
        before
    )
    assert RoutingRule.get(RoutingRule.name == "billing").turn == 0


def test_a_conversation_that_is_not_there_is_said_in_one_sentence(
    channel: Channel,  # noqa: F811
) -> None:
    with pytest.raises(NotFound, match=r"There is no conversation #999\."):
        trial.trial_conversation(999)
