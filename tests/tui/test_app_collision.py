"""Collision warnings in the terminal desk, on the demo desk with agents added.

Two apps in one test process are hard, so the other agent is the engine writing what their
app would write: a presence row under another session, a customer's mail through the real
ingest, a reply through the outbox. This app is the demo's agent "alex"
(DESKTERM_AGENT); the others are the demo's Kim and Sam.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.demo import desk as demo
from deskterm.desk import agents, presence
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.outbound import drafts, replies
from deskterm.screens.compose import ComposeScreen
from deskterm.screens.reply_dialogs import ChangedSinceScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Agent, Channel, Message, Outbox, Presence
from deskterm.widgets.presence_line import PresenceLine
from tests.mailfactory import make_mail
from tests.tui.test_app import drive, notices, screen_text, settle
from tests.tui.test_app_compose import assert_inert, body, open_composer

EXPORT = 4  # the conversation at the top of the list: Lukas Schmidt, four messages
KIMS_APP = "kims-laptop:4242"

pytestmark = pytest.mark.usefixtures("demo_desk")


@pytest.fixture(autouse=True)
def team(demo_desk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "alex")


def kim_is(activity: str, conversation_id: int = EXPORT, name: str = "kim") -> None:
    presence.enter(conversation_id, activity, agents.get(name), KIMS_APP)


def my_rows(app: DeskApp) -> list[tuple[int, str]]:
    return [
        (row.conversation_id, row.activity)
        for row in Presence.select().where(Presence.session == app.presence.session)
    ]


def line(app: DeskApp) -> PresenceLine:
    return app.screen.query_one(PresenceLine)


def lukas_writes_again(text: str) -> None:
    """Lukas answers in #4 while the composer is open, through the real pipeline."""
    raw = make_mail(
        "Re: Dashboard export times out [#4]",
        sender="Lukas Schmidt <lukas.schmidt@kestrel-analytics.example>",
        body=text,
        message_id="<export-again@kestrel-analytics.example>",
        in_reply_to="<export-4@kestrel-analytics.example>",
    )
    item = Fetched("again-1", raw)
    prepare_batch([item], None, 100_000, 1024)()
    [outcome] = Ingestor(Channel.get(Channel.name == demo.CHANNEL)).apply([item], "INBOX")
    assert outcome.conversation_id == EXPORT


def outbox_rows() -> int:
    return Outbox.select().where(Outbox.kind == "reply").count()


# --- who else is there ----------------------------------------------------------------------


def test_the_thread_names_who_is_replying_and_viewing_and_says_it_is_viewed() -> None:
    kim_is("replying")
    sam = agents.get("sam")
    presence.enter(EXPORT, "viewing", sam, "sams-desk:7")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert "Kim Lee is replying · Sam Carter is viewing" in screen_text(app)
        assert my_rows(app) == [(EXPORT, "viewing")]
        presence.leave(EXPORT, KIMS_APP)  # Kim closed the composer
        line(app).beat()  # what the heartbeat timer runs
        await settle(pilot)
        text = screen_text(app)
        assert "Kim Lee" not in text and "Sam Carter is viewing" in text
        presence.leave(EXPORT, "sams-desk:7")
        line(app).beat()
        await settle(pilot)
        assert line(app).has_class("-none") and "is viewing" not in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert my_rows(app) == []  # closed: the row went with the thread

    drive(scenario)


def test_the_composer_names_who_else_is_replying_and_replies_here() -> None:
    kim_is("replying")
    sam = agents.get("sam")
    presence.enter(EXPORT, "viewing", sam, "sams-desk:7")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        text = screen_text(app)
        assert "Kim Lee is replying" in text
        assert "Sam Carter" not in text  # the composer names only the others replying
        assert my_rows(app) == [(EXPORT, "replying")]  # one row: the thread's and ours
        await pilot.press("escape")  # an empty reply: closes at once
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert my_rows(app) == [(EXPORT, "viewing")]  # back to the thread, at once

    drive(scenario)


def test_j_moves_this_apps_presence_and_quitting_takes_it_away() -> None:
    kim_is("viewing")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        first = app.screen.conversation_id  # type: ignore[attr-defined]
        await pilot.press("J")
        await settle(pilot)
        second = app.screen.conversation_id  # type: ignore[attr-defined]
        assert second != first
        assert my_rows(app) == [(second, "viewing")]
        await pilot.press("r")  # the composer over the thread, open as the app quits
        await settle(pilot)
        assert my_rows(app) == [(second, "replying")]

    app = drive(scenario)
    assert my_rows(app) == []  # gone with the app, not left to turn stale
    assert [r.session for r in Presence.select()] == [KIMS_APP]


def test_a_hostile_agent_name_is_shown_literally_and_stays_inert() -> None:
    Agent.create(handle="mallory", name="[@click=app.quit]\x1b]52;c;aGk=\x07[b]Mal[/b]\nlory")
    kim_is("replying", name="mallory")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        # One plain line (control bytes gone, the line break folded), cut at NAME_CHARS.
        assert "[@click=app.quit]]52;c;aGk=[b]Mal[/b] l… is replying" in screen_text(app)
        assert_inert(app)

    drive(scenario)


def test_on_a_desk_without_this_agent_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DESKTERM_AGENT")  # the login is no agent's: presence is off
    assert agents.current() is None
    kim_is("replying")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("escape")  # "Which agent are you?": not now
        await settle(pilot)
        await open_composer(pilot, from_thread=True)
        assert "Kim Lee is replying" in screen_text(app)  # the others are still named
        assert my_rows(app) == []

    drive(scenario)


# --- sending on a conversation that changed ---------------------------------------------------


def test_a_new_customer_mail_asks_before_sending_and_back_to_edit_sends_nothing() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        await pilot.press(*"The export is fixed.")
        lukas_writes_again("Never mind, it works again!\nThanks anyway.\n")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChangedSinceScreen)
        text = screen_text(app)
        assert "#4 changed since you started this reply:" in text
        assert "A new message from Lukas Schmidt" in text
        assert "Never mind, it works again!" in text and "Thanks anyway." in text
        assert outbox_rows() == 0
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert not body(app).read_only and body(app).has_focus
        assert outbox_rows() == 0
        await pilot.press(*" Glad to hear it.")
        await pilot.press("ctrl+s")  # what changed was shown: no second question
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario)
    [reply] = Message.select().where(Message.conversation == EXPORT, Message.direction == "out")
    assert reply.text == "The export is fixed. Glad to hear it."
    assert outbox_rows() == 1


def test_another_agents_reply_asks_and_s_sends_anyway() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press(*"My answer.")
        replies.queue_reply(EXPORT, "Kim's answer, sent first.")  # Kim's app, meanwhile
        before = outbox_rows()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChangedSinceScreen)
        text = screen_text(app)
        assert "A reply from Acme Support" in text and "Kim's answer, sent first." in text
        assert outbox_rows() == before  # not yet
        await pilot.press("s")
        await settle(pilot)
        assert not isinstance(app.screen, (ChangedSinceScreen, ComposeScreen))
        assert outbox_rows() == before + 1
        assert notices(app)[-1].startswith("Reply to #4 queued")

    drive(scenario)
    texts = [
        m.text
        for m in Message.select()
        .where(Message.conversation == EXPORT, Message.direction == "out")
        .order_by(Message.id)
    ]
    assert texts == ["Kim's answer, sent first.", "My answer."]


def test_c_closes_the_reply_and_keeps_the_draft() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        await pilot.press(*"Draft text.")
        lukas_writes_again("One more thing.\n")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChangedSinceScreen)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert notices(app)[-1] == "Draft kept: r on #4 opens it again."

    drive(scenario)
    assert outbox_rows() == 0
    assert drafts.load(EXPORT).body == "Draft text."


def test_an_unchanged_conversation_sends_without_asking() -> None:
    kim_is("viewing")  # someone looking changes nothing

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        await pilot.press(*"Straight out.", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario)
    assert outbox_rows() == 1
