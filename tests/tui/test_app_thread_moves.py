"""Moving from inside a thread (issue 14): J/K to the list's next/previous conversation, ]/[
between messages (n/p until issue 15 gave `n` to notes), mail arriving while the thread is
open announced, the contact's other conversations beside the thread."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Static

from deskterm.app import DeskApp
from deskterm.demo import desk as demo
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.outbound import replies
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.other_conversations import OtherConversationsDialog
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Channel, Conversation, Message
from deskterm.widgets.message_view import MessageView
from deskterm.widgets.other_conversations import OtherConversations
from tests.mailfactory import make_mail
from tests.tui.test_app import OPEN_IDS_TOP, drive, notices, settle, the_list

DASHBOARD = 4  # four messages, the open list's first
EMMA, EMMA_THANKS = 1, 21  # one contact's two conversations


def thread(app: DeskApp) -> ThreadScreen:
    screen = app.screen
    assert isinstance(screen, ThreadScreen)
    return screen


def messages(app: DeskApp) -> VerticalScroll:
    return app.screen.query_one("#messages", VerticalScroll)


def news(app: DeskApp) -> Static:
    return app.screen.query_one("#news", Static)


async def open_thread(pilot: Pilot[None], conversation_id: int) -> None:
    app = pilot.app
    assert isinstance(app, DeskApp)
    the_list(app).cursor = the_list(app).ids.index(conversation_id)
    await pilot.press("enter")
    await settle(pilot)
    assert thread(app).conversation_id == conversation_id


def test_J_and_K_open_the_next_and_previous_conversation_of_the_list(demo_desk: None) -> None:
    first, second, third = OPEN_IDS_TOP[:3]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        Conversation.update(unread=True).where(Conversation.id == second).execute()
        await open_thread(pilot, first)
        screen = thread(app)
        await pilot.press("J")
        await settle(pilot)
        assert app.screen is screen and screen.conversation_id == second
        assert f"#{second} " in str(screen.query_one("#title", Static).render())
        assert screen.detail is not None and screen.detail["id"] == second
        assert not Conversation.get_by_id(second).unread  # read, as an opened one
        await pilot.press("J")
        await settle(pilot)
        assert screen.conversation_id == third
        await pilot.press("K", "K")
        await settle(pilot)
        assert screen.conversation_id == first
        await pilot.press("K")
        await settle(pilot)
        assert screen.conversation_id == first
        assert notices(app)[-1] == "This is the first conversation of the list."
        await pilot.press("J", "escape")
        await settle(pilot)
        # Back in the list, the cursor is on the conversation read last.
        assert isinstance(app.screen, ConversationsScreen)
        assert the_list(app).current_id == second

    drive(scenario)


def test_J_follows_the_filter_the_thread_was_opened_from(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")  # pending: #8 and #3
        await settle(pilot)
        pending = list(the_list(app).ids)
        assert sorted(pending) == [3, 8]
        await open_thread(pilot, pending[0])
        await pilot.press("J")
        await settle(pilot)
        assert thread(app).conversation_id == pending[1]
        await pilot.press("J")
        await settle(pilot)
        assert thread(app).conversation_id == pending[1]
        assert notices(app)[-1] == "This is the last conversation of the list."

    drive(scenario)


def test_brackets_scroll_to_the_next_and_previous_message(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        box = messages(app)
        tops = [view.virtual_region.y for view in box.query(MessageView)]
        assert len(tops) == 4 and box.scroll_y == 0
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert box.scroll_y == tops[1]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert box.scroll_y == min(tops[2], box.max_scroll_y)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert box.scroll_y == tops[1]
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert box.scroll_y == 0
        assert notices(app)[-1] == "This is the first message."

    drive(scenario)


def test_P_still_changes_the_priority_in_a_thread(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        before = Conversation.get_by_id(DASHBOARD).priority
        await pilot.press("P")
        await settle(pilot)
        assert Conversation.get_by_id(DASHBOARD).priority != before

    drive(scenario)


def deliver_to_dashboard() -> None:
    """A customer's answer in conversation #4, through the real pipeline."""
    raw = make_mail(
        "Re: Dashboard export times out",
        sender="Lukas Schmidt <lukas.schmidt@kestrel-analytics.example>",
        body="It times out again.\n",
        in_reply_to="<export-4@kestrel-analytics.example>",
        references=["<export-4@kestrel-analytics.example>"],
    )
    item = Fetched("dash-5", raw)
    prepare_batch([item], None, 100_000, 1024)()
    Ingestor(Channel.get(Channel.name == demo.CHANNEL)).apply([item], "INBOX")


def test_a_message_arriving_in_the_open_thread_is_announced_and_the_view_stays(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        box = messages(app)
        box.scroll_to(y=3, animate=False)
        await pilot.pause()
        where = box.scroll_y
        assert where == 3 and news(app).display is False
        deliver_to_dashboard()
        app.desk_version += 1
        await settle(pilot)
        assert len(box.query(MessageView)) == 5
        assert box.scroll_y == where  # what the agent reads did not move
        assert news(app).display
        assert str(news(app).render()) == (
            "A new message from Lukas Schmidt <lukas.schmidt@kestrel-analytics.example> "
            "below: press G (End) to see it."
        )
        await pilot.press("G")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        assert news(app).display is False

    drive(scenario)


def test_the_contacts_other_conversations_beside_the_thread_at_120x40(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, EMMA)
        others = app.screen.query_one(OtherConversations)
        assert others.display
        assert [option.id for option in others.options] == [str(EMMA_THANKS)]
        assert "#21 resolved Thank you!" in str(others.get_option_at_index(0).prompt)
        assert "1 other conversation (C)" in str(app.screen.query_one("#meta", Static).render())
        await pilot.press("C")
        assert others.has_focus
        await enter_and_come_back(pilot)

    drive(scenario, size=(120, 40))


def test_at_80x24_C_shows_the_contacts_other_conversations_in_a_dialog(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, EMMA)
        assert not app.screen.query_one(OtherConversations).display
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, OtherConversationsDialog)
        await enter_and_come_back(pilot)
        await open_other_without_any(pilot)

    drive(scenario)


async def enter_and_come_back(pilot: Pilot[None]) -> None:
    """Enter opens Emma's other conversation over her thread; Esc comes back to it."""
    app = pilot.app
    await pilot.press("enter")
    await settle(pilot)
    assert thread(app).conversation_id == EMMA_THANKS
    await pilot.press("escape")
    await settle(pilot)
    assert thread(app).conversation_id == EMMA


async def open_other_without_any(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.press("escape")
    await settle(pilot)
    await open_thread(pilot, DASHBOARD)
    await pilot.press("C")
    await pilot.pause()
    assert isinstance(app.screen, ThreadScreen)
    assert notices(app)[-1] == "The contact has no other conversation."


def test_the_palette_offers_the_thread_moves(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, OPEN_IDS_TOP[0])
        commands = {c.title: c for c in thread(app).palette_commands()}
        assert {"Next conversation", "Previous conversation", "Contact's other conversations"} <= (
            set(commands)
        )
        commands["Next conversation"].callback()
        await settle(pilot)
        assert thread(app).conversation_id == OPEN_IDS_TOP[1]

    drive(scenario)


def test_a_replys_new_state_is_redrawn_in_place(demo_desk: None) -> None:
    """Queued, then sent: the reply's line changes and the view does not move."""
    reply = replies.queue_reply(DASHBOARD, "We are on it.", status=None)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        box = messages(app)
        views = list(box.query(MessageView))
        assert "(queued)" in str(views[-1].render())
        box.scroll_to(y=3, animate=False)
        await pilot.pause()
        Message.update(state="sent").where(Message.id == reply.id).execute()
        app.desk_version += 1
        await settle(pilot)
        assert list(box.query(MessageView)) == views  # the same widgets, redrawn
        assert "(sent)" in str(views[-1].render())
        assert box.scroll_y == 3
        assert news(app).display is False  # the agent's own reply is not announced

    drive(scenario)
