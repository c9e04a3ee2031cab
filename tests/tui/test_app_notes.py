"""Internal notes and mentions in the app (issue 15): `n` in the thread writes a note, notes
are drawn among the messages and apart from mail, `@` from the list shows the mentions of the
agent at the keyboard and Enter opens one, which marks it seen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TextArea

from deskterm.app import DeskApp
from deskterm.desk import agents, notes
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.help import HelpScreen
from deskterm.screens.mentions import MentionsScreen
from deskterm.screens.message_tools import SourceScreen
from deskterm.screens.note_dialog import NoteDialog
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Mention, Message, Note
from deskterm.widgets.message_view import MessageView
from deskterm.widgets.note_view import NoteView
from tests.tui.test_app import drive, notices, screen_text, segments, settle, the_list
from tests.tui.test_app_thread_moves import DASHBOARD, open_thread

SCROLLBAR = ("grab", "scroll_up", "scroll_down")
HOSTILE_NOTE = "[@click=app.quit]Quit[/] \x1b]52;c;aGk=\x07 [$accent]vars[/] \u202eevil"


@pytest.fixture
def team(demo_desk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's Kim (at the keyboard) and Sam."""
    assert agents.get("kim").name == "Kim Lee" and agents.get("sam").name == "Sam Carter"
    monkeypatch.setenv("DESKTERM_AGENT", "kim")


def assert_inert(app: DeskApp) -> None:
    """No escape, bell or bidi override on screen, and no action a click could run but the
    scrollbar's own (grab, page up, page down)."""
    for segment in segments(app):
        assert "\x1b" not in segment.text and "\x07" not in segment.text
        assert "\u202e" not in segment.text
        meta = segment.style.meta if segment.style else {}
        actions = {k: v for k, v in meta.items() if str(k).startswith("@")}
        assert actions in ({}, *({"@mouse.down": a} for a in SCROLLBAR)), segment


def views(app: DeskApp) -> list[Static]:
    box = app.screen.query_one("#messages", VerticalScroll)
    return [v for v in box.children if isinstance(v, MessageView | NoteView)]


def test_n_writes_a_note_shown_last_and_apart_from_mail(team: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"@sam", "space", *"look")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        [note] = Note.select()
        assert (note.text, note.author.handle, note.conversation_id) == ("@sam look", "kim", 4)
        assert [m.agent.handle for m in note.mentions] == ["sam"]
        shown = views(app)
        assert [type(v) for v in shown] == [MessageView] * 4 + [NoteView]
        assert str(shown[-1].render()).startswith("✎ Note by Kim Lee (@kim) · internal")
        assert "@sam look" in str(shown[-1].render())
        assert "4 messages · 1 note" in str(app.screen.query_one("#meta", Static).render())
        box = app.screen.query_one("#messages", VerticalScroll)
        assert box.scroll_y == box.max_scroll_y  # the agent sees what they wrote
        assert notices(app)[-1] == "Note saved: only agents see it."

    drive(scenario)


def test_a_note_looks_unlike_mail(team: None) -> None:
    """A bar and a background of its own: no cell of a note is drawn as a message's."""

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        notes.add(DASHBOARD, "internal")
        await open_thread(pilot, DASHBOARD)
        message, note = views(app)[0], views(app)[-1]
        assert note.styles.background != message.styles.background
        assert note.styles.border_left[0] == "thick"
        assert message.styles.border_left[0] in ("", "none")

    drive(scenario)


def note_between_the_first_two() -> tuple[Message, Message]:
    """The thread's first two mails an hour either side of a note. The demo's mail all
    arrives at its one "now", so the test sets the first mail's arrival two hours earlier."""
    first, second = (
        Message.select().where(Message.conversation == DASHBOARD).order_by(Message.id)[:2]
    )
    earlier = second.created_at - timedelta(hours=2)
    Message.update(created_at=earlier).where(Message.id == first.id).execute()
    note = notes.add(DASHBOARD, "between the first two")
    between = second.created_at - timedelta(hours=1)
    Note.update(created_at=between).where(Note.id == note.id).execute()
    return first, second


def test_notes_sit_among_the_messages_in_time_order(team: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        note_between_the_first_two()
        await open_thread(pilot, DASHBOARD)
        assert [type(v) for v in views(app)] == [MessageView, NoteView] + [MessageView] * 3

    drive(scenario)


def test_escape_keeps_a_typed_note_until_pressed_again_and_empty_is_refused(
    team: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+s")  # nothing typed
        await settle(pilot)
        assert isinstance(app.screen, NoteDialog)
        assert notices(app)[-1] == "The note is empty; write something first."
        await pilot.press(*"draft")
        await pilot.press("escape")
        assert isinstance(app.screen, NoteDialog)
        assert "press Esc again" in notices(app)[-1]
        assert app.screen.query_one(TextArea).text == "draft"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert Note.select().count() == 0

    drive(scenario)


def test_a_hostile_note_is_shown_literally_and_stays_inert(team: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        notes.add(DASHBOARD, HOSTILE_NOTE)
        await open_thread(pilot, DASHBOARD)
        app.screen.query_one("#messages", VerticalScroll).scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        assert "[@click=app.quit]Quit[/] ]52;c;aGk= [$accent]vars[/] evil" in text
        assert_inert(app)
        await pilot.click(offset=(6, 18))
        assert app.is_running

    drive(scenario, size=(100, 30))


async def open_mentions(pilot: Pilot[None]) -> MentionsScreen:
    await pilot.press("at")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MentionsScreen)
    return screen


def test_at_lists_my_mentions_and_enter_opens_one_and_marks_it_seen(
    team: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes.add(12, "@sam older")
    notes.add(DASHBOARD, "@sam can you check the export?")
    notes.add(1, "@kim to myself: no mention")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert "@ mentions" in screen_text(app)  # the list's footer
        screen = await open_mentions(pilot)
        assert [r["conversation"]["id"] for r in screen.rows] == [DASHBOARD, 12]
        assert screen.query_one(DataTable).row_count == 2
        assert "can you check the export?" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.screen.conversation_id == DASHBOARD
        seen = {m.note.conversation_id: m.seen for m in Mention.select()}
        assert seen == {12: False, DASHBOARD: True}
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert [(r["conversation"]["id"], r["seen"]) for r in screen.rows] == [
            (12, False),  # unseen first
            (DASHBOARD, True),
        ]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario, size=(120, 40))


def test_opening_the_conversation_from_the_list_marks_its_mentions_seen(
    team: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes.add(DASHBOARD, "@sam look")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert the_list(app).ids[0] == DASHBOARD
        await open_thread(pilot, DASHBOARD)
        assert [m.seen for m in Mention.select()] == [True]

    drive(scenario)


def test_mentions_without_an_agent_say_how_to_name_one(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESKTERM_AGENT")  # and the login is no agent's

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("escape")  # "Which agent are you?": not now
        await settle(pilot)
        await open_mentions(pilot)
        assert "set DESKTERM_AGENT to your handle" in screen_text(app)

    drive(scenario, size=(120, 40))


def test_the_help_lists_the_note_mentions_and_message_keys(team: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = dict((what, keys) for keys, what in app.screen.rows)
        assert rows["Mentions of you in notes"] == "@"
        await pilot.press("escape")
        await open_thread(pilot, DASHBOARD)
        await pilot.press("question_mark")
        rows = dict((what, keys) for keys, what in app.screen.rows)
        assert rows["Write an internal note (@handle mentions)"] == "n"
        assert (rows["Next message"], rows["Previous message"]) == ("]", "[")

    drive(scenario)


def test_another_agents_note_arriving_is_announced_and_the_view_stays(
    team: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        box = app.screen.query_one("#messages", VerticalScroll)
        box.scroll_to(y=3, animate=False)
        await pilot.pause()
        monkeypatch.setenv("DESKTERM_AGENT", "sam")  # Sam writes it, elsewhere
        notes.add(DASHBOARD, "@kim I called them")
        monkeypatch.setenv("DESKTERM_AGENT", "kim")
        app.desk_version += 1
        await settle(pilot)
        assert [type(v) for v in views(app)][-1] is NoteView
        assert box.scroll_y == 3
        news = app.screen.query_one("#news", Static)
        assert news.display
        assert str(news.render()) == "A new note by Sam Carter below: press G (End) to see it."

    drive(scenario)


def test_a_hostile_mention_is_listed_literally_and_stays_inert(
    team: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes.add(DASHBOARD, "@sam " + HOSTILE_NOTE)
    monkeypatch.setenv("DESKTERM_AGENT", "sam")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_mentions(pilot)
        assert "[@click=app.quit]Quit[/] ]52;c;aGk= [$accent]vars[/] evil" in screen_text(app)
        assert_inert(app)
        for y in range(2, 12):
            await pilot.click(offset=(40, y))
        assert app.is_running

    drive(scenario, size=(120, 40))


def test_brackets_stop_at_notes_and_message_keys_still_act_on_the_mail(team: None) -> None:
    """A note is not a message to the message tools: `V` after `]` past a note shows the
    source of the mail under the reader, not of the one before it."""

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        _first, second = note_between_the_first_two()
        await open_thread(pilot, DASHBOARD)
        box = app.screen.query_one("#messages", VerticalScroll)
        tops = [v.virtual_region.y for v in views(app)]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert box.scroll_y == tops[1]  # the note
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert box.scroll_y == tops[2]  # the second mail
        await pilot.press("V")
        await settle(pilot)
        assert isinstance(app.screen, SourceScreen)
        assert app.screen.title_text == f"Source of message {second.id}"

    drive(scenario)
