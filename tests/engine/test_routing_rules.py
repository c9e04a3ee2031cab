"""Routing rules (issue 16) applied on ingest, on SQLite and on the suite's real PostgreSQL:
conditions, actions, order, round-robin, skipping, replies, failures that stay one mail's.

Mail goes through the real Ingestor (dedup, filters, threader) as a poll applies it; rules
are added as `deskterm rule add` adds them (rulefile + rulebook).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from deskterm.desk import agents, queries, triage
from deskterm.desk.rules import actions, rulebook, rulefile
from deskterm.errors import ConfigError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.store import connection
from deskterm.store.models import (
    Channel,
    Conversation,
    ConversationTag,
    Organization,
    OrganizationDomain,
    RoutingRule,
    RuleMatch,
    SkippedMail,
)
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.mailfactory import make_mail

CATASTROPHIC = "(a+)+$"  # backtracks exponentially on "aaaa...!" in Python's re


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`), three agents."""
    for email, name, handle in (
        ("sam@desk.example", "Sam Roe", "sam"),
        ("kim@desk.example", "Kim Lee", "kim"),
        ("alex@desk.example", "Alex Poe", "alex"),
    ):
        agents.add(email, name, handle=handle)
    return engine_channel


def rule(text: str) -> RoutingRule:
    return rulebook.add(rulefile.parse_text(text))


def ingest(channel: Channel, *mails: bytes, passed: bool = False) -> list:
    """Through the pipeline's own stages: parsed and stored (prepare), then applied."""
    batch = [Fetched(str(uid), raw) for uid, raw in enumerate(mails, 1)]
    prepare_batch(batch, None, 100_000, 1024)()
    return Ingestor(channel, passed=passed).apply(batch)


def routing_of(conversation_id: int) -> list[list[str]]:
    """Each message's "Routed by ..." lines, as the thread and `show --json` give them."""
    detail = queries.conversation_detail(conversation_id)
    return [[r["said"] for r in m["routing"]] for m in detail["messages"]]


def mail(subject: str = "Hello", sender: str = "Jane <jane@customer.example>", **kw) -> bytes:
    return make_mail(subject, sender, **kw)


def test_a_matching_rule_routes_a_new_conversation_and_says_so_on_its_message(
    channel: Channel,
) -> None:
    rule(
        """
        name = "billing"
        [when]
        subject = ["invoice", "refund"]
        from_domain = "customer.example"
        [then]
        priority = "high"
        tags = ["billing", "money"]
        assign = "sam"
        status = "pending"
        """
    )
    routed, other = ingest(
        channel,
        mail("Your INVOICE 42 is wrong"),
        mail("Invoice", sender="bob@elsewhere.example"),  # the domain does not hold
    )
    conversation = Conversation.get_by_id(routed.conversation_id)
    assert (conversation.priority, conversation.status, conversation.assignee) == (
        "high",
        "pending",
        "sam",
    )
    assert triage.tags(conversation.id) == ["billing", "money"]
    assert routing_of(conversation.id) == [
        [
            "Routed by rule 'billing': priority high, status pending, "
            "tagged billing, money, assigned to sam"
        ]
    ]
    [match] = queries.conversation_detail(conversation.id)["messages"][0]["routing"]
    assert match["applied"] == {
        "priority": "high",
        "tags": ["billing", "money"],
        "assign": "sam",
        "status": "pending",
    }
    untouched = Conversation.get_by_id(other.conversation_id)
    assert (untouched.priority, untouched.status, untouched.assignee) == ("normal", "open", None)
    assert routing_of(untouched.id) == [[]]


def test_rules_apply_in_order_a_later_one_wins_and_stop_ends_the_asking(
    channel: Channel,
) -> None:
    rule('name = "low"\n[then]\npriority = "low"\ntags = "first"')
    rule('name = "vip"\nstop = true\n[when]\nfrom = "*@vip.example"\n[then]\npriority = "high"')
    rule('name = "never"\n[then]\ntags = "late"')
    vip, plain = ingest(channel, mail(sender="boss@vip.example"), mail())
    assert Conversation.get_by_id(vip.conversation_id).priority == "high"
    assert triage.tags(vip.conversation_id) == ["first"]  # "never" was not asked
    assert Conversation.get_by_id(plain.conversation_id).priority == "low"
    assert triage.tags(plain.conversation_id) == ["first", "late"]  # "never" ran
    assert rulebook.move("never", 1) == 1
    assert [r.name for r in rulebook.all_rules()] == ["never", "low", "vip"]
    assert [r.position for r in rulebook.all_rules()] == [1, 2, 3]
    rulebook.remove("low")
    assert [(r.name, r.position) for r in rulebook.all_rules()] == [("never", 1), ("vip", 2)]


def test_a_follow_up_is_routed_only_by_rules_that_say_replies(channel: Channel) -> None:
    rule('name = "new-only"\n[then]\ntags = "new"')
    rule('name = "escalate"\nreplies = true\n[when]\nbody = "urgent"\n[then]\npriority = "high"')
    first = make_mail("Printer", message_id="<p1@customer.example>", body="It broke.\n")
    [started] = ingest(channel, first)
    assert triage.tags(started.conversation_id) == ["new"]
    assert Conversation.get_by_id(started.conversation_id).priority == "normal"
    reply = make_mail(
        "Re: Printer",
        message_id="<p2@customer.example>",
        in_reply_to="<p1@customer.example>",
        body="This is URGENT now.\n",
    )
    triage.change_tags(started.conversation_id, "-new")
    [answered] = ingest(channel, reply)
    assert answered.conversation_id == started.conversation_id
    assert Conversation.get_by_id(started.conversation_id).priority == "high"
    assert triage.tags(started.conversation_id) == []  # the new-only rule was not asked
    assert routing_of(started.conversation_id) == [
        ["Routed by rule 'new-only': tagged new"],
        ["Routed by rule 'escalate': priority high"],
    ]


def test_a_skip_rule_makes_a_listed_skipped_row_and_an_agent_can_ingest_it_anyway(
    channel: Channel,
) -> None:
    rule('name = "newsletters"\n[when]\nsubject = "newsletter"\n[then]\nskip = "marketing"')
    rule('name = "tag-all"\n[then]\ntags = "seen"')
    raw = mail("Our March newsletter")
    [outcome] = ingest(channel, raw)
    assert (outcome.kind, outcome.reason) == ("skipped", "rule newsletters: marketing")
    assert Conversation.select().count() == 0
    [row] = queries.skipped_list()
    assert row["reason"] == "rule newsletters: marketing"
    assert row["subject"] == "Our March newsletter"
    # "Ingest anyway": the skip rule is passed over, the others still route it.
    SkippedMail.delete().execute()
    [rescued] = ingest(channel, raw, passed=True)
    assert rescued.kind == "ingested"
    assert routing_of(rescued.conversation_id) == [["Routed by rule 'tag-all': tagged seen"]]


def test_round_robin_takes_turns_across_ingestors_and_passes_over_a_removed_agent(
    channel: Channel,
) -> None:
    rule('name = "share"\n[then]\nassign_round_robin = ["sam", "kim", "alex"]')
    first = ingest(channel, mail("one"), mail("two"))
    # A new Ingestor is a restarted worker (or another machine): the turn is in the row.
    second = ingest(channel, mail("three"), mail("four"))
    owners = [Conversation.get_by_id(o.conversation_id).assignee for o in [*first, *second]]
    assert owners == ["sam", "kim", "alex", "sam"]
    agents.remove("kim")
    later = ingest(channel, mail("five"), mail("six"))
    owners = [Conversation.get_by_id(o.conversation_id).assignee for o in later]
    assert owners == ["alex", "alex"]  # kim's turn went to the next one; then alex's own
    assert routing_of(later[0].conversation_id) == [
        ["Routed by rule 'share': assigned to alex in turn"]
    ]
    assert RoutingRule.get(RoutingRule.name == "share").turn == 6


def test_a_catastrophic_regex_on_a_hostile_subject_fails_that_rule_alone(
    channel: Channel,
) -> None:
    rule(f'name = "slow"\n[when]\nsubject_regex = \'{CATASTROPHIC}\'\n[then]\npriority = "low"')
    rule('name = "after"\n[when]\nsubject_regex = \'^a+!$\'\n[then]\ntags = "hostile"')
    hostile = mail("a" * 5000 + "!")
    fine = mail("aaaa")
    slow, ok = ingest(channel, hostile, fine)
    assert slow.kind == ok.kind == "ingested"
    conversation = Conversation.get_by_id(slow.conversation_id)
    assert conversation.priority == "normal"  # the slow rule did nothing
    assert triage.tags(conversation.id) == ["hostile"]  # the next rule still ran
    [[failed, routed]] = routing_of(conversation.id)
    assert failed.startswith("Rule 'slow' matched but failed: its regular expression")
    assert "took longer than" in failed and "it was not applied" in failed
    assert routed == "Routed by rule 'after': tagged hostile"
    assert Conversation.get_by_id(ok.conversation_id).priority == "low"  # short: matched


def test_a_rule_whose_agent_left_is_noted_on_the_message_and_the_batch_goes_on(
    channel: Channel,
) -> None:
    rule('name = "to-kim"\n[then]\ntags = "kim"\nassign = "kim"')
    rule('name = "high"\n[then]\npriority = "high"')
    agents.remove("kim")
    first, second = ingest(channel, mail("one"), mail("two"))
    for outcome in (first, second):
        conversation = Conversation.get_by_id(outcome.conversation_id)
        assert (conversation.assignee, conversation.priority) == (None, "high")
        assert triage.tags(conversation.id) == []  # the failed rule's tag was undone too
        [[failed, routed]] = routing_of(conversation.id)
        assert failed == (
            "Rule 'to-kim' matched but failed: kim is no longer an agent; edit the rule; "
            "nothing of it was applied"
        )
        assert routed == "Routed by rule 'high': priority high"


def test_conditions_on_recipient_attachment_priority_organization_and_unless(
    channel: Channel,
) -> None:
    example = Organization.create(name="Example Ltd")
    OrganizationDomain.create(domain="example.com", organization=example)
    rule('name = "to-billing"\n[when]\nto = "support+billing@*"\n[then]\ntags = "to-billing"')
    rule('name = "pdf"\n[when]\nattachment_type = "application/pdf"\n[then]\ntags = "pdf"')
    rule('name = "urgent"\n[when]\npriority = "high"\n[then]\ntags = "urgent"')
    rule('name = "org"\n[when]\norganization = "example ltd"\n[then]\ntags = "org"')
    rule(
        'name = "any"\nmatch = "any"\n[when]\nsubject = "zzz"\nbody = "needle"\n'
        '[unless]\nfrom = "customer@*"\n[then]\ntags = "any"'
    )
    billing = make_mail("Bill", to="Support <support+billing@desk.test>")
    urgent = make_mail("Now", headers={"X-Priority": "1"}, body="a needle\n")
    org = make_mail("Hi", "Ann <ann@example.com>", body="needle\n")
    with_pdf = EmailMessage()
    with_pdf["From"], with_pdf["To"], with_pdf["Subject"] = (
        "jo@x.example",
        "support@desk.test",
        "Doc",
    )
    with_pdf["Date"] = format_datetime(datetime(2025, 3, 3, tzinfo=UTC))
    with_pdf["Message-ID"] = make_msgid(domain="x.example")
    with_pdf.set_content("see attached\n")
    with_pdf.add_attachment(b"%PDF-1.4" + b"x" * 2000, "application", "pdf", filename="a.pdf")
    outcomes = ingest(channel, billing, urgent, org, bytes(with_pdf))
    tags = [triage.tags(o.conversation_id) for o in outcomes]
    # urgent's body has the needle, but it is from customer@...: its [unless] holds.
    assert tags == [["to-billing"], ["urgent"], ["any", "org"], ["pdf"]]


def test_a_channel_rule_applies_to_that_channel_only(channel: Channel, desk: Desk) -> None:
    desk.add_channel(DRAFT_CHANNEL.replace('name = "support"', 'name = "sales"'))
    connection.open_database()
    rule('name = "sales-only"\nchannel = "sales"\n[then]\ntags = "sales"')
    [support] = ingest(channel, mail("a"))
    [sales] = ingest(Channel.get(Channel.name == "sales"), mail("b"))
    assert triage.tags(support.conversation_id) == []
    assert triage.tags(sales.conversation_id) == ["sales"]


def test_automated_mail_the_channel_accepts_can_be_routed_by_its_reason(
    channel: Channel,
) -> None:
    settings = dict(channel.settings)
    settings["reading"] = {**settings["reading"], "accept_autogenerated": True}
    Channel.update(settings=settings).where(Channel.id == channel.id).execute()
    channel = Channel.get_by_id(channel.id)
    rule('name = "robots"\n[when]\nautomated = "list-id"\n[then]\nstatus = "closed"')
    listed = make_mail("Digest", headers={"List-Id": "<news.example.org>"})
    [outcome, human] = ingest(channel, listed, mail("person"))
    assert Conversation.get_by_id(outcome.conversation_id).status == "closed"
    assert Conversation.get_by_id(human.conversation_id).status == "open"


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('name = "x"\n[then]\ncolour = "red"', "unknown action colour in \\[then\\]"),
        ('name = "x"\n[when]\nsender = "a"\n[then]\ntags = "t"', "unknown condition sender"),
        ('name = "x"\n[then]\nassign = "nobody-here"', "No agent is called 'nobody-here'"),
        ('name = "x"\n[then]\npriority = "urgent"', "then.priority may be high, normal, low"),
        ('name = "x"\n[then]\nstatus = "done"', "then.status: Status 'done' is not known"),
        (
            'name = "x"\n[when]\nsubject_regex = \'(a\'\n[then]\ntags = "t"',
            "not a valid regular expression",
        ),
        ('name = "x"\n[then]\nskip = "spam"\ntags = "t"', "skip may have no other action"),
        ('name = "x"\nchannel = "nope"\n[then]\ntags = "t"', "no channel named 'nope'"),
        ('name = "x y"\n[then]\ntags = "t"', "name is needed and may hold only"),
        ('name = "x"', "\\[then\\] is missing"),
    ],
)
def test_a_wrong_rule_is_refused_in_one_sentence_and_nothing_is_stored(
    channel: Channel, text: str, refused: str
) -> None:
    with pytest.raises((ConfigError, NotFound), match=refused):
        rule(text)
    assert RoutingRule.select().count() == 0


def test_a_rule_name_is_unique_and_edit_keeps_its_place_and_turn(channel: Channel) -> None:
    rule('name = "a"\n[then]\ntags = "a"')
    rule('name = "b"\n[then]\nassign_round_robin = ["sam", "kim"]')
    ingest(channel, mail("one"))
    with pytest.raises(ConfigError, match="There is a rule named 'b' already"):
        rule('name = "b"\n[then]\ntags = "b"')
    rulebook.edit("b", rulefile.parse_text('name = "b"\n[then]\nassign_round_robin = ["kim"]'))
    edited = rulebook.get("b")
    assert (edited.position, edited.turn, edited.actions) == (2, 1, {"assign_round_robin": ["kim"]})


def test_removing_a_rule_keeps_the_line_on_the_messages_it_routed(channel: Channel) -> None:
    rule('name = "gone"\n[then]\ntags = "x"')
    [outcome] = ingest(channel, mail())
    rulebook.remove("gone")
    assert RuleMatch.select().count() == 1
    assert routing_of(outcome.conversation_id) == [["Routed by rule 'gone': tagged x"]]


@pytest.fixture
def plugged() -> Iterator[None]:
    """Two actions as another feature would register them (e.g. ticket types), removed after."""

    def mark(target: actions.Target, value: str) -> str:
        if not target.dry_run and target.conversation_id is not None:
            triage.add_tag(target.conversation_id, f"type-{value}")
        return value

    def broken(target: actions.Target, _value: str) -> str:
        # A write the database refuses: on PostgreSQL it aborts the transaction, so only a
        # savepoint keeps the batch alive.
        assert target.conversation_id is not None
        ConversationTag.create(conversation=target.conversation_id, tag="twice")
        ConversationTag.create(conversation=target.conversation_id, tag="twice")
        return _value

    type_action = actions.Action("a mark", actions._text, mark, "marked {}".format)
    actions.register("mark", type_action, before="priority")
    actions.register("broken", actions.Action("a bug", actions._text, broken, str))
    yield
    del actions.ACTIONS["mark"], actions.ACTIONS["broken"]


def test_an_action_registered_by_another_feature_plugs_in_and_its_failure_stays_its_own(
    channel: Channel, plugged: None
) -> None:
    rule('name = "typed"\n[then]\nmark = "billing"\nassign = "sam"')
    rule('name = "buggy"\n[then]\nbroken = "x"\npriority = "low"')
    first, second = ingest(channel, mail("one"), mail("two"))
    for outcome in (first, second):
        conversation = Conversation.get_by_id(outcome.conversation_id)
        assert (conversation.assignee, conversation.priority) == ("sam", "normal")
        assert triage.tags(conversation.id) == ["type-billing"]  # "twice" was rolled back
        [[typed, buggy]] = routing_of(conversation.id)
        assert typed == "Routed by rule 'typed': marked billing, assigned to sam"
        assert buggy == (
            "Rule 'buggy' matched but failed: IntegrityError; nothing of it was applied"
        )


def test_a_rule_types_a_conversation_fills_its_fields_and_applies_a_macro(
    channel: Channel,
) -> None:
    from deskterm.desk import field_values, macros, types
    from deskterm.desk.rules import trial
    from deskterm.mail.parse import parse

    types.add("billing")
    types.add_field("billing", "order", "text")
    macros.save("park", [("status", "pending"), ("tags", "+parked")])
    with pytest.raises(ConfigError, match="no type 'nosuch'"):
        rule('name = "wrong"\n[then]\ntype = "nosuch"')
    with pytest.raises(ConfigError, match="nosuch"):
        rule('name = "wrong"\n[then]\nmacro = "nosuch"')
    rule(
        'name = "bills"\n[when]\nsubject = "invoice"\n[then]\n'
        'type = "billing"\nfields = { order = "A-1" }\nmacro = "park"'
    )
    raw = mail("Invoice 7")
    found = trial.trial(parse(raw), channel, follow_up=False, unsaved=None)
    assert "type billing, order A-1, macro park" in str(found)
    assert Conversation.select().count() == 0  # the dry run stored nothing
    [outcome] = ingest(channel, raw)
    conversation = Conversation.get_by_id(outcome.conversation_id)
    assert types.type_of(conversation) == "billing"
    [order] = field_values.values_of(conversation)
    assert (order["name"], order["value"]) == ("order", "A-1")
    assert (conversation.status, triage.tags(conversation.id)) == ("pending", ["parked"])
    [[said]] = routing_of(conversation.id)
    assert said == "Routed by rule 'bills': type billing, order A-1, macro park"
