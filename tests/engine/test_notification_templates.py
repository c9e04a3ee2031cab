"""Notification templates (issue 16): kinds with their own variables, an HTML part whose
values from mail are escaped, previews against a real conversation, the resolved notice
queued once per resolution, and the reply layout; on SQLite and on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from deskterm.desk import agents, queries, sla, template_kinds, templates, triage
from deskterm.desk.sla_policies import Terms
from deskterm.desk.undo import History
from deskterm.errors import ConfigError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.outbound import composer, replies, resolved
from deskterm.store import blobs, connection, migrations
from deskterm.store.models import Channel, Conversation, Message, Outbox, Template
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.engine.test_notes import fetched
from tests.mailfactory import make_mail

HOSTILE_SUBJECT = '<script>alert(1)</script> & <a href="http://evil.example">win</a>'


def with_outbound(extra: str) -> str:
    return DRAFT_CHANNEL.replace(
        'from = "Desk Support <support@desk.test>"',
        'from = "Desk Support <support@desk.test>"\n' + extra,
    )


@pytest.fixture
def engine_desk(engine: str, request: pytest.FixtureRequest) -> Desk:
    """The CLI's desk on each engine (tests/conftest.py `engine`)."""
    return request.getfixturevalue("desk")


def hostile_conversation(channel: Channel, n: int = 1) -> int:
    mail = make_mail(
        HOSTILE_SUBJECT,
        '"<b>Mallory</b>" <mallory@customer.example>',
        message_id=f"<h{n}@customer.example>",
        date=datetime(2025, 3, n, 9, tzinfo=UTC),
    )
    [outcome] = Ingestor(channel).apply(fetched(mail))
    assert outcome.conversation_id is not None
    return outcome.conversation_id


def open_channel(desk: Desk, toml: str) -> Channel:
    desk.add_channel(toml)
    connection.open_database()
    return Channel.get(Channel.name == "support")


def test_each_kind_knows_its_own_variables(engine_desk: Desk) -> None:
    open_channel(engine_desk, DRAFT_CHANNEL)
    templates.save("layout", "Hi $contact_name,\n\n$reply_text\n", kind="reply_notification")
    with pytest.raises(ConfigError, match=r"Unknown template variable \$reply_text"):
        templates.save("plain", "Hi $reply_text")  # a reply has no reply inside it
    with pytest.raises(ConfigError, match=r"Unknown template variable \$due_at"):
        templates.save("done", "due $due_at", kind="resolved")
    templates.save("sla_warning", "#$conversation_id due $due_at ($sla_target) $field_order")
    assert Template.get(Template.name == "sla_warning").kind == "sla_warning"
    with pytest.raises(ConfigError, match=r"Unknown template variable \$field_x"):
        templates.save("invitation", "Hello $field_x")  # no conversation, so no fields
    with pytest.raises(ConfigError, match="kind 'chat' is not known"):
        templates.save("x", "text", kind="chat")
    with pytest.raises(ConfigError, match="The HTML part has a stray"):
        templates.save("y", "text", html="<p>costs $5</p>")


def test_the_html_part_escapes_values_from_mail(engine_desk: Desk) -> None:
    channel = open_channel(engine_desk, DRAFT_CHANNEL)
    cid = hostile_conversation(channel)
    from deskterm.desk import fields, types

    types.add("billing")
    types.add_field("billing", "order", "text")
    types.set_type(cid, "billing")
    fields.set_value(cid, "order", "<i>A-1</i>")
    templates.save(
        "fancy",
        "About $subject",
        html="<p>Dear <b>$contact_name</b>, about <i>$subject</i> $field_order.</p>",
    )
    filled = templates.fill_parts("fancy", queries.get_conversation(cid))
    assert filled.text.startswith("About <script>")  # text stays text
    assert filled.html is not None
    assert "<script>" not in filled.html and "<a href" not in filled.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a href=&quot;" in filled.html
    assert "<b>&lt;b&gt;Mallory&lt;/b&gt;</b>" in filled.html  # the admin's markup stays
    assert filled.html.endswith(" &lt;i&gt;A-1&lt;/i&gt;.</p>")  # $field_order, escaped


def test_a_preview_fills_a_kind_for_a_real_conversation_before_it_is_saved(
    engine_desk: Desk,
) -> None:
    channel = open_channel(engine_desk, DRAFT_CHANNEL)
    cid = hostile_conversation(channel)
    conversation = queries.get_conversation(cid)
    body = "Resolved: $subject for $contact_email (#$conversation_id)"
    parts = templates.preview_parts(
        "bye", body, conversation, kind="resolved", html="<p>$contact_name</p>"
    )
    assert parts.text == f"Resolved: {HOSTILE_SUBJECT} for mallory@customer.example (#{cid})"
    assert parts.html == "<p>&lt;b&gt;Mallory&lt;/b&gt;</p>"
    assert Template.select().count() == 0  # nothing saved
    # No SLA clock runs: the kind's own values are the samples.
    sample = templates.preview("sla_warning", template_kinds.DEFAULT_SLA_WARNING, conversation)
    assert f"#{cid}" in sample and template_kinds.SAMPLE["due_at"] in sample
    assert template_kinds.SAMPLE["sla_state"] in sample


def test_an_sla_preview_shows_the_conversations_clock_and_assignee(engine_desk: Desk) -> None:
    """What the worker would mail: the stored due time in the policy's zone, the state and
    target it is in, greeting the assignee, not the sample nor the agent at this keyboard."""
    channel = open_channel(engine_desk, DRAFT_CHANNEL)
    cid = hostile_conversation(channel)
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    triage.assign(cid, "kim")
    sla.add_policy("tokyo", Terms(first_response="1h", timezone="Asia/Tokyo"))
    due_at = Conversation.get_by_id(cid).due_at
    local = due_at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    body = "$agent_name: #$conversation_id $sla_state, $sla_target due $due_at"
    said = templates.preview("sla_warning", body, queries.get_conversation(cid))
    assert said == (
        f"Kim Lee: #{cid} is due soon, first response due {local:%Y-%m-%d %H:%M} Asia/Tokyo"
    )
    Conversation.update(due_at=due_at.replace(year=2001)).where(Conversation.id == cid).execute()
    triage.assign(cid, None)  # unassigned: the notice goes to the team
    said = templates.preview("sla_warning", body, queries.get_conversation(cid))
    assert said.startswith(f"the team: #{cid} is breached, first response due 2001-")


def test_the_resolved_notice_is_queued_once_per_resolution(
    engine_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = open_channel(engine_desk, with_outbound('resolved_template = "resolved"'))
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    cid = hostile_conversation(channel)
    history = History()
    resolved.set_status(cid, "pending", history=history)
    assert Outbox.select().count() == 0  # only resolving sends it
    resolved.set_status(cid, "resolved", history=history)
    [notice] = Outbox.select()
    assert (notice.kind, notice.recipient, notice.state) == (
        "resolved",
        "mallory@customer.example",
        "queued",
    )
    text = Message.get_by_id(notice.message_id).text
    assert text.startswith("Hello <b>Mallory</b>,") and text.rstrip().endswith("Kim Lee")
    assert Conversation.get_by_id(cid).status == "resolved"  # the notice leaves it so
    triage.undo(history)  # back to pending, and resolved again: no second mail
    resolved.set_status(cid, "resolved", history=history)
    resolved.set_status(cid, "closed")
    resolved.set_status(cid, "resolved")
    assert Outbox.select().count() == 1
    # The customer writes again; resolving it again tells them again.
    again = make_mail(
        f"Re: {HOSTILE_SUBJECT} [#{cid}]",
        "mallory@customer.example",
        message_id="<h9@customer.example>",
        in_reply_to="<h1@customer.example>",
    )
    Ingestor(channel).apply(fetched(again, first_uid=5))
    assert Conversation.get_by_id(cid).status == "open"
    resolved.set_status(cid, "resolved")
    assert Outbox.select().where(Outbox.kind == "resolved").count() == 2


def test_no_resolved_notice_unless_the_channel_names_one(engine_desk: Desk) -> None:
    channel = open_channel(engine_desk, DRAFT_CHANNEL)
    cid = hostile_conversation(channel)
    resolved.set_status(cid, "resolved")
    assert Outbox.select().count() == 0


def test_a_reply_that_resolves_sends_no_notice_after_it(engine_desk: Desk) -> None:
    channel = open_channel(engine_desk, with_outbound('resolved_template = "resolved"'))
    cid = hostile_conversation(channel)
    replies.queue_reply(cid, "All fixed.", status="resolved")
    assert [o.kind for o in Outbox.select()] == ["reply"]


def test_a_missing_resolved_template_changes_nothing_and_says_so(engine_desk: Desk) -> None:
    channel = open_channel(engine_desk, with_outbound('resolved_template = "gone"'))
    cid = hostile_conversation(channel)
    with pytest.raises(NotFound, match="no template named 'gone'"):
        resolved.set_status(cid, "resolved")
    assert Conversation.get_by_id(cid).status == "open"
    assert Outbox.select().count() == 0


def test_every_reply_takes_the_channels_layout(engine_desk: Desk) -> None:
    channel = open_channel(engine_desk, with_outbound('reply_template = "layout"'))
    cid = hostile_conversation(channel)
    templates.save(
        "layout",
        "Hi $contact_name,\n\n$reply_text\n\n-- $channel_name",
        kind="reply_notification",
        html="<p>$reply_text</p>",
    )
    message = replies.queue_reply(cid, "Line one\nLine <two>\n")
    assert message.text == "Hi <b>Mallory</b>,\n\nLine one\nLine <two>\n\n-- support"
    html = message_from_bytes(blobs.read_raw(message.raw_path), policy=policy.default)
    part = html.get_body(("html",))
    assert part is not None
    assert part.get_content().splitlines() == ["<p>Line one<br>", "Line &lt;two&gt;</p>"]


@pytest.mark.sqlite_only("builds the older desk's template table with SQLite's DDL")
def test_an_older_desk_keeps_its_templates_as_replies_and_gets_macros(desk_home) -> None:
    database = connection.open_database(migrate=False)
    before = migrations.MIGRATIONS.index(migrations._v13_notifications_and_macros)
    assert migrations.migrate(database, migrations.MIGRATIONS[:before]) == before
    database.execute_sql('DROP TABLE "macro"')  # as desks were before it
    database.execute_sql('DROP TABLE "template"')
    database.execute_sql(
        'CREATE TABLE "template" (id INTEGER PRIMARY KEY, name VARCHAR(255) UNIQUE, '
        "body TEXT, created_at DATETIME)"
    )
    database.execute_sql(
        "INSERT INTO template (name, body) VALUES ('hello', 'Hi $contact_name'), "
        "('invitation', 'Welcome $invitee_name')"
    )
    assert migrations.migrate(database) == len(migrations.MIGRATIONS)
    kinds = {t.name: (t.kind, t.html) for t in Template.select()}
    assert kinds == {"hello": ("reply", None), "invitation": ("invitation", None)}
    assert database.table_exists("macro")


def test_the_composer_offers_only_reply_templates(engine_desk: Desk) -> None:
    open_channel(engine_desk, DRAFT_CHANNEL)
    templates.save("thanks", "Thanks, $contact_name.")
    templates.save("done", "Resolved, $contact_name.", kind="resolved")
    templates.save("sla_warning", "Due $due_at")
    assert composer.template_names() == ["thanks"]


def test_the_sla_warning_is_filled_with_its_own_values(engine_desk: Desk) -> None:
    channel = open_channel(engine_desk, DRAFT_CHANNEL)
    conversation = queries.get_conversation(hostile_conversation(channel))
    extra = {"due_at": "2026-12-05 09:00 UTC", "sla_target": "resolution"}
    built_in = templates.fill_parts("sla_warning", conversation, "Kim Lee", extra)
    assert built_in.text.startswith("Hello Kim Lee,")
    assert "its resolution target\nis due at 2026-12-05 09:00 UTC." in built_in.text
    templates.save("sla_warning", "$sla_target", html="<p>$subject by $due_at</p>")
    saved = templates.fill_parts("sla_warning", conversation, "Kim Lee", extra)
    assert saved.text == "resolution"
    assert (
        saved.html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a href=&quot;"
        "http://evil.example&quot;&gt;win&lt;/a&gt; by 2026-12-05 09:00 UTC</p>"
    )
