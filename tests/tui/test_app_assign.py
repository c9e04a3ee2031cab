"""Assignment in the terminal (issue 15): the assign prompt offers the desk's agents with
completion and can unassign, `m` takes a conversation (or the marked ones) for the agent at
the keyboard, `A` steps the list through Mine / Unassigned / All, and an app whose agent is
unknown asks once and remembers. On the demo desk: agents sam, alex and kim."""

from __future__ import annotations

import getpass

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from deskterm.app import DeskApp
from deskterm.desk import agents
from deskterm.screens.agent_prompt import AgentPrompt
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Conversation
from tests.tui.test_app import OPEN_IDS_TOP, drive, notices, screen_text, settle, the_list

FIRST = OPEN_IDS_TOP[0]  # #4, sam's in the demo


def assignee(conversation_id: int) -> str | None:
    return Conversation.get_by_id(conversation_id).assignee


def test_the_assign_prompt_lists_the_agents_and_completes_a_handle(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AgentPrompt)
        text = screen_text(app)
        for line in ("alex         Alex Moreau", "kim          Kim Lee", "nobody (unassigned)"):
            assert line in text
        assert "Assign #4 (now sam) to:" in text
        await pilot.press("k")
        await settle(pilot)
        assert app.screen.query_one("#agents", OptionList).option_count == 1  # kim only
        await pilot.press("tab", "enter")  # Tab takes the suggestion: "kim"
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert assignee(FIRST) == "kim"
        assert f"#{FIRST} is now assigned to kim." in notices(app)

    drive(scenario)


def row_line(app: DeskApp, conversation_id: int) -> str:
    """The list's line for one conversation, as drawn."""
    rows = [line for line in screen_text(app).splitlines() if f" {conversation_id} " in line[:9]]
    assert len(rows) == 1, rows
    return rows[0]


def test_the_list_shows_the_assignee_blank_when_nobody(demo_desk: None) -> None:
    """Issue 15: "the list shows the assignee", by handle, in the 80-column list."""

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert " agent " in screen_text(app)  # the column's title
        assert " @sam " in row_line(app, FIRST)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"kim", "enter")
        await settle(pilot)
        assert " @kim " in row_line(app, FIRST) and "@sam" not in row_line(app, FIRST)
        await pilot.press("a")
        await settle(pilot)
        app.screen.query_one(Input).value = "nobody"
        await pilot.press("enter")
        await settle(pilot)
        assert assignee(FIRST) is None and "@" not in row_line(app, FIRST)

    drive(scenario)


def test_the_list_of_agents_picks_one_or_nobody(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # into the list: alex, then kim
        await settle(pilot)
        assert assignee(FIRST) == "kim"
        await pilot.press("a")
        await settle(pilot)
        app.screen.query_one("#answer", Input).value = "no"
        await pilot.press("down", "enter")  # the only one left: nobody
        await settle(pilot)
        assert assignee(FIRST) is None

    drive(scenario)


def test_free_text_is_refused_in_the_tuis_words(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("a")
        await settle(pilot)
        app.screen.query_one("#answer", Input).value = "Robin"
        await pilot.press("enter")
        await settle(pilot)
        assert assignee(FIRST) == "sam"  # unchanged
        [said] = [n for n in notices(app) if "Robin" in n]
        assert said.endswith("No agent is called 'Robin'; the assign prompt (a) shows them.")

    drive(scenario)


def test_m_assigns_to_me_in_the_list_the_thread_and_the_marked_ones(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "alex")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await settle(pilot)
        assert assignee(FIRST) == "alex"
        assert f"#{FIRST} is now assigned to you (alex)." in notices(app)
        await pilot.press("u")  # one undo puts sam back
        await settle(pilot)
        assert assignee(FIRST) == "sam"
        second, third = OPEN_IDS_TOP[1], OPEN_IDS_TOP[2]
        await pilot.press("j", "space", "space")  # marks #12 and #1
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert (assignee(second), assignee(third), assignee(FIRST)) == ("alex", "alex", "sam")
        assert "2 conversations are now assigned to you (alex)." in notices(app)
        await pilot.press("u")
        await settle(pilot)
        assert (assignee(second), assignee(third)) == (None, None)
        await pilot.press("escape", "g", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("m")
        await settle(pilot)
        assert assignee(app.screen.conversation_id) == "alex"
        assert "assigned to alex" in screen_text(app)

    drive(scenario)


def test_m_without_a_known_agent_says_how_to_become_one(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESKTERM_AGENT")
    monkeypatch.setattr(getpass, "getuser", lambda: "somebody-else")
    Conversation.update(assignee=None).execute()  # on a desk with no agents
    for handle in agents.handles():
        agents.remove(handle)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ConversationsScreen)  # no agents: nothing asked
        await pilot.press("m")
        await settle(pilot)
        assert assignee(FIRST) is None
        [said] = [n for n in notices(app) if "DESKTERM_AGENT" in n]
        assert "you are not one of this desk's agents; set DESKTERM_AGENT" in said

    drive(scenario)


def test_A_steps_through_mine_unassigned_and_all(demo_desk: None) -> None:  # sam at the keys
    everyone = {c.id for c in Conversation.select().where(Conversation.status == "open")}
    sams = {c.id for c in Conversation.select().where(Conversation.assignee == "sam")}

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("A")
        await settle(pilot)
        assert set(the_list(app).ids) == sams & everyone
        assert f"Mine: {len(sams & everyone)}" in screen_text(app)
        await pilot.press("A")
        await settle(pilot)
        shown = set(the_list(app).ids)
        assert shown and all(assignee(cid) is None for cid in shown)
        assert "Unassigned: " in screen_text(app)
        await pilot.press("A")
        await settle(pilot)
        assert set(the_list(app).ids) == everyone
        assert "Mine" not in screen_text(app) and "Unassigned" not in screen_text(app)

    drive(scenario)


def test_an_unknown_agent_is_asked_once_and_remembered(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESKTERM_AGENT")
    monkeypatch.setattr(getpass, "getuser", lambda: "somebody-else")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, AgentPrompt)
        assert "Which agent are you?" in screen_text(app)
        assert "nobody" not in screen_text(app)  # one of the agents, not nobody
        await pilot.press("down", "enter")  # the first: alex
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert any(n.startswith("You are alex (Alex Moreau)") for n in notices(app))

    drive(scenario)
    assert agents.current().handle == "alex"

    async def again(app: DeskApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ConversationsScreen)  # not asked a second time

    drive(again)
