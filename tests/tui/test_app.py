"""The terminal desk driven like an agent would: keys in, database and screen checked.

Every test runs the real app headless (`App.run_test`) on the demo desk, built through the
real inbound pipeline from the bundled mail, with the clock fixed at the demo's anchor.
The helpers here are shared by the other tests/test_app_*.py modules.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from rich.segment import Segment
from textual.pilot import Pilot
from textual.worker import WorkerState

from deskterm.app import DeskApp
from deskterm.app_session import REFRESH_DELAY
from deskterm.demo import desk as demo
from deskterm.desk import triage
from deskterm.engine.events import SyncProgress
from deskterm.engine.lock import worker_lock
from deskterm.errors import NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.screens.conversations import SEARCH_DELAY, ConversationsScreen
from deskterm.screens.help import HelpScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Channel, Conversation
from deskterm.widgets.conversation_list import ConversationList
from deskterm.widgets.message_view import MessageView
from tests.mailfactory import make_mail

NOW = demo.ANCHOR.replace(tzinfo=None)  # naive UTC, like the desk's timestamps
OPEN_IDS_TOP = [4, 12, 1, 10, 2]  # the open conversations, newest activity first
HOSTILE = 10  # the conversation of deskterm/demo/mail/14-hostile.eml

Scenario = Callable[[DeskApp, Pilot[None]], Awaitable[None]]


def make_app(**options: object) -> DeskApp:
    options.setdefault("run_worker", False)
    return DeskApp(clock=lambda: NOW, **options)  # type: ignore[arg-type]


async def settle(pilot: Pilot[None], timeout: float = 15.0) -> None:
    """Wait until no UI worker runs and what they posted is handled (the engine never ends)."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while any(
        w.group != "engine" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        for w in app.workers
    ):
        assert time.monotonic() < deadline, "the app's workers did not finish"
        await asyncio.sleep(0.01)
    await pilot.pause()
    await pilot.pause()


async def until(pilot: Pilot[None], check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.02)


def drive(
    scenario: Scenario, *, app: DeskApp | None = None, size: tuple[int, int] = (80, 24)
) -> DeskApp:
    """Run the app headless, let it load, and hand it to the scenario."""
    app = app or make_app()

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await settle(pilot)
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def segments(app: DeskApp) -> list[Segment]:
    return [s for strip in app.screen._compositor.render_strips() for s in strip]


def screen_text(app: DeskApp) -> str:
    return "\n".join(
        "".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()
    )


def notices(app: DeskApp) -> list[str]:
    """The notifications raised so far (also drawn as toasts: run_test enables them)."""
    return [notification.message for notification in app._notifications]


def the_list(app: DeskApp) -> ConversationList:
    return app.screen.query_one(ConversationList)


def status_of(conversation_id: int) -> str:
    return Conversation.get_by_id(conversation_id).status


def deliver(subject: str) -> None:
    """A new mail through the real pipeline, as a poll would ingest it."""
    item = Fetched("new-1", make_mail(subject, sender="New Person <new@customer.example>"))
    prepare_batch([item], None, 100_000, 1024)()
    Ingestor(Channel.get(Channel.name == demo.CHANNEL)).apply([item], "INBOX")


# --- the list ------------------------------------------------------------------------------


def test_the_list_opens_with_the_demo_conversations(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ConversationsScreen)
        assert the_list(app).ids[:5] == OPEN_IDS_TOP
        text = screen_text(app)
        assert "1 Open 17" in text and "5 All 22" in text
        assert "Where is my ord" in text  # the subject, cut: 16 cells at 80 columns
        assert "Lukas Schmidt" in text
        assert "worker off · demo: draft" in text
        assert all(len(line) <= 80 for line in text.splitlines())

    drive(scenario)


def test_keys_move_the_cursor_and_enter_opens_the_thread(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        await pilot.press("j", "j")
        assert listing.current_id == OPEN_IDS_TOP[2]
        await pilot.press("k", "down", "up", "up")
        assert listing.current_id == OPEN_IDS_TOP[0]
        await pilot.press("G")
        assert listing.cursor == len(listing.ids) - 1
        await pilot.press("g", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.screen.conversation_id == 4
        views = list(app.screen.query(MessageView))
        assert [v.message["from"] for v in views] == [
            "lukas.schmidt@kestrel-analytics.example",
            "lukas.schmidt@kestrel-analytics.example",
            "mei.chen@kestrel-analytics.example",
            "lukas.schmidt@kestrel-analytics.example",
        ]
        text = screen_text(app)
        assert "#4 Dashboard export times out" in text
        assert "Lukas Schmidt <lukas.schmidt@kestrel-analytics.example>" in text
        assert "Since Friday every CSV export" in text

    drive(scenario)
    assert Conversation.get_by_id(4).unread is False  # opening it marked it read


def test_quoted_history_is_folded_behind_a_key(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        second = str(list(app.screen.query(MessageView))[1].content)
        assert "quoted lines hidden" in second
        assert "> Hello Lukas" not in second
        await pilot.press("t")
        second = str(list(app.screen.query(MessageView))[1].content)
        assert "> Hello Lukas" in second and "On Fri, 8 Mar 2024 at 14:02" in second
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


def test_attachments_are_listed_with_their_size(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("5", "slash", *"INV-2024", "enter")  # it is pending
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == [3]
        await pilot.press("enter")
        await settle(pilot)
        assert "Attached: INV-2024-0312.pdf (4.1 KB, application/pdf)" in screen_text(app)

    drive(scenario)


# --- triage ---------------------------------------------------------------------------------


def test_s_changes_the_status_in_the_database(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("s", "p")  # the status menu: p for pending
        await settle(pilot)
        assert status_of(4) == "pending"
        assert "1 Open 16" in screen_text(app)
        await pilot.press("j")  # moving on lets it leave the open filter
        await settle(pilot)
        assert 4 not in the_list(app).ids
        await pilot.press("2")
        await settle(pilot)
        assert 4 in the_list(app).ids

    drive(scenario)


def test_the_thread_view_triages_with_s_P_and_a(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("j", "j", "enter")  # #1, where is my order
        await settle(pilot)
        await pilot.press("s", "p", "P")  # the status menu's p (pending), then P priority
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"kim", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert "pending · high priority · assigned to kim" in screen_text(app)

    drive(scenario)
    row = Conversation.get_by_id(1)
    assert (row.status, row.priority, row.assignee) == ("pending", "high", "kim")


def test_escape_cancels_the_assign_prompt(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"nobody", "escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)
    assert Conversation.get_by_id(4).assignee == "sam"


# --- filter and search ---------------------------------------------------------------------


def test_search_narrows_the_list_as_you_type(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("slash", *"ord")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        # Full-text search matches words that begin with what was typed ("order", "orders",
        # "ordered" in subjects and bodies), not the middle of a word ("password" in #16).
        narrowed = set(the_list(app).ids)
        assert narrowed == {1, 14, 17, 22}
        await pilot.press(*"er #48213")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == [1]
        assert "/ord" in screen_text(app) and ": 1" in screen_text(app)
        await pilot.press("enter")
        assert the_list(app).has_focus  # Enter keeps the search and goes back to the list
        await pilot.press("escape")
        await settle(pilot)
        assert len(the_list(app).ids) == 17

    drive(scenario)


def test_search_finds_a_conversation_by_number_and_by_contact(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("5", "slash", *"#7")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == [7]
        await pilot.press(*["backspace"] * 2, *"Смирнова")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == [9]

    drive(scenario)


def test_number_keys_and_f_pick_the_status_filter(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        seen = {}
        for key, status in (("2", "pending"), ("3", "resolved"), ("4", "closed"), ("5", "all")):
            await pilot.press(key)
            await settle(pilot)
            seen[status] = len(the_list(app).ids)
        await pilot.press("f")  # all -> open
        await settle(pilot)
        seen["open"] = len(the_list(app).ids)
        assert seen == {"pending": 2, "resolved": 2, "closed": 1, "all": 22, "open": 17}

    drive(scenario)


# --- untrusted text -------------------------------------------------------------------------


def _assert_inert(app: DeskApp) -> None:
    """No escape, bell or bidi override on screen, and no action a click could run: the only
    action meta allowed is Textual's own scrollbar grab."""
    for segment in segments(app):
        assert "\x1b" not in segment.text and "\x07" not in segment.text
        assert "\u202e" not in segment.text
        meta = segment.style.meta if segment.style else {}
        actions = {k: v for k, v in meta.items() if str(k).startswith("@")}
        assert actions in ({}, {"@mouse.down": "grab"}), segment


def test_a_hostile_mail_is_shown_literally_and_stays_inert(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        row = listing.ids.index(HOSTILE)
        assert "[@click=app.qui" in screen_text(app)
        _assert_inert(app)
        # Click the subject (and the name) in the list, twice: it opens, nothing quits.
        await pilot.click(ConversationList, offset=(50, row))
        await pilot.click(ConversationList, offset=(24, row))
        assert listing.current_id == HOSTILE
        await pilot.click(ConversationList, offset=(50, row), times=2)
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        text = screen_text(app)
        assert "#10 [@click=app.quit] Refund [bold]NOW[/bold] [31mURGENT[0m" in text
        assert "[@click=app.quit]Mallory [2J[b] <mallory@evil.example>" in text
        assert "Click [@click=app.quit]here[/] to claim" in text
        assert "[$accent]vars[/]" in text
        _assert_inert(app)
        for y in range(0, 12):  # click over the title, sender and body lines
            await pilot.click(offset=(12, y))
        await pilot.press("t", "escape")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, ConversationsScreen)
        assert "<svg" in app.export_screenshot() and "\x1b" not in app.export_screenshot()

    app = drive(scenario)
    assert app.return_code is None  # it was never quit by the mail


# --- help, errors, the worker ---------------------------------------------------------------


def test_question_mark_lists_every_key(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        wanted = [
            b.description
            for b in (*ConversationsScreen.BINDINGS, *ConversationList.BINDINGS)
            if not isinstance(b, tuple)
        ]
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = "\n".join(f"{keys} {what}" for keys, what in app.screen.rows)
        for description in wanted:
            assert description in help_text
        assert "ctrl+p" in help_text.lower() or "^p" in help_text
        await pilot.press("escape")
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


def test_a_failing_action_is_one_notification_not_a_crash(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(conversation_id: int, *args: object, **kwargs: object) -> str:
        raise NotFound(f"There is no conversation #{conversation_id}.")

    def broken(conversation_id: int, *args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        monkeypatch.setattr(triage, "set_status", gone)
        await pilot.press("s", "p")
        await pilot.pause()
        assert notices(app) == ["There is no conversation #4."]
        assert "There is no conversation #4." in screen_text(app)
        monkeypatch.setattr(triage, "cycle_priority", broken)
        await pilot.press("p")
        await pilot.pause()
        assert notices(app)[-1] == (
            "Trying to change the priority failed unexpectedly (RuntimeError); this is a bug, "
            "please report it (DESKTERM_DEBUG=1 shows details)."
        )
        assert app.is_running

    drive(scenario, size=(100, 30))


def test_the_worker_runs_in_the_app_and_its_events_refresh_the_list(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.worker_state == "on")
        assert app.engine is not None
        deliver("Brand new question")
        # The engine calls back from its own thread, as after a committed batch.
        event = SyncProgress(demo.CHANNEL, "INBOX", 1, 1)
        thread = threading.Thread(target=app.engine.on_event, args=(event,))
        thread.start()
        await until(pilot, lambda: not thread.is_alive())
        await pilot.pause(REFRESH_DELAY)
        await settle(pilot)
        assert "Brand new quest" in screen_text(app)
        assert the_list(app).current_id == 4  # the cursor stayed on its conversation

    app = drive(scenario, app=make_app(run_worker=True))
    assert app.engine is not None and app.engine.stop.is_set()  # stopped on exit


def test_with_a_separate_poll_process_the_app_watches_the_database(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert app.engine is None
        assert "worker in `deskterm poll`" in screen_text(app)
        deliver("Polled elsewhere")
        await until(pilot, lambda: "Polled elsewhere" in screen_text(app))

    with worker_lock():  # what a running `deskterm poll` holds
        drive(scenario, app=make_app(run_worker=True, refresh_seconds=0.2))


def test_conversations_reading_failure_does_not_crash(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deskterm.desk import list_index

    def unreadable(ids: list[int]) -> list[dict[str, object]]:
        raise OSError("disk gone")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        monkeypatch.setattr(list_index, "conversation_rows", unreadable)
        await pilot.press("5")
        await settle(pilot)
        assert notices(app) == [
            "The conversations could not be read (OSError); press ctrl+r to try again."
        ]
        assert app.is_running

    drive(scenario, size=(100, 30))


def test_clock_is_injected_for_ages(demo_desk: None) -> None:
    later = datetime(2024, 3, 18, 12, 0)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        text = screen_text(app)
        assert " 7d " in text and " 35m " not in text

    drive(scenario, app=DeskApp(clock=lambda: later, run_worker=False))


def test_keys_typed_right_after_slash_go_into_the_search(demo_desk: None) -> None:
    """A fast typist (or a paste) queues keys before the app has handled "/"."""
    from textual import events

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        for key in ("slash", *"order #4", "enter", "j"):
            app._driver.send_message(events.Key(key, "/" if key == "slash" else key))
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        assert (screen.status, screen.search) == ("open", "order #4")
        assert the_list(app).ids == [1] and the_list(app).has_focus

    drive(scenario)


def test_the_command_palette_offers_what_fits_the_screen(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Keys", "Show pending conversations", "Search conversations", "Skipped mail"} <= (
            set(titles)
        )
        assert "Poll now" not in titles  # no worker runs in this app
        for command in app.get_system_commands(app.screen):
            if command.title == "Show closed conversations":
                command.callback()
        await settle(pilot)
        assert the_list(app).ids == [15]
        await pilot.press("enter")
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Show or hide quoted text" in titles and "Skipped mail" not in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert type(app.screen).__name__ == "CommandPalette"

    drive(scenario)


def test_skipped_mail_shows_the_auto_reply_and_why(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("S")
        await settle(pilot)
        text = screen_text(app)
        assert "auto-submitted: auto-replied" in text
        assert "Automatic reply: Your request #1042" in text
        await pilot.press("escape")
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)
