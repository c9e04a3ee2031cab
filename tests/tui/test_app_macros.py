"""Macros and notification previews in the desk (issue 16), through Pilot on the demo desk:
F2 fills a template for a chosen conversation, `x` applies a macro from a thread (its
template filled in the composer) and to the marked conversations of the list, and one `u`
undoes each."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Select, Static, TextArea

from deskterm.app import DeskApp
from deskterm.desk import macros, queries, templates, triage
from deskterm.screens.compose import ComposeScreen
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.macro_prompt import MacroMenu
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Outbox, Template
from tests.tui.test_app import OPEN_IDS_TOP, _assert_inert, drive, notices, screen_text, settle
from tests.tui.test_app_templates import open_form, retype

pytestmark = pytest.mark.usefixtures("demo_desk")

FIRST = OPEN_IDS_TOP[0]


def state(cid: int) -> tuple[object, ...]:
    now = triage.state(cid)
    return now["status"], now["priority"], now["assignee"], tuple(now["tags"])


def test_f2_previews_a_notification_for_a_chosen_conversation() -> None:
    subject = queries.get_conversation(FIRST).subject

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        await retype(pilot, "#name", "bye")
        await retype(pilot, "#body", "Resolved: $subject (#$conversation_id)")
        app.screen.query_one("#kind", Select).value = "resolved"
        await retype(pilot, "#conversation", str(FIRST))
        await pilot.press("f2")
        await pilot.pause()
        below = str(app.screen.query_one("#variables", Static).content)
        assert below.startswith(f"Preview for #{FIRST}")
        assert f"Resolved: {subject} (#{FIRST})" in below
        await retype(pilot, "#conversation", "")  # empty: the sample values again
        below = str(app.screen.query_one("#variables", Static).content)
        assert "Resolved: Where is my order? (#42)" in below
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Template.get(Template.name == "bye").kind == "resolved"

    drive(scenario, size=(120, 40))


def test_x_in_a_thread_applies_a_macro_opens_the_composer_and_u_undoes_it() -> None:
    templates.save("on-it", "Hello $contact_name, we are on it.")
    macros.save("take", [("priority", "low"), ("tags", "+vip"), ("template", "on-it")])
    before = state(FIRST)
    name = queries.get_conversation(FIRST).contact.name

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen) and app.screen.conversation_id == FIRST
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, MacroMenu)
        await pilot.press("enter")  # the first (and only) macro
        await settle(pilot)
        assert before[1] != "low" and state(FIRST)[1:] == ("low", before[2], ("vip",))
        assert isinstance(app.screen, ComposeScreen)
        body = app.screen.query_one("#body", TextArea).text
        assert f"Hello {name}, we are on it." in body
        assert Outbox.select().count() == 0  # inserted, never sent
        await pilot.press("escape")
        await settle(pilot)
        if not isinstance(app.screen, ThreadScreen):  # the draft question: discard it
            await pilot.press("d")
            await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("u")
        await settle(pilot)
        assert state(FIRST) == before
        assert f"Undone: #{FIRST} is as it was." in notices(app)

    drive(scenario, size=(120, 40))


def test_x_applies_a_macro_to_the_marked_conversations_and_one_u_undoes_it() -> None:
    templates.save("on-it", "Hello $contact_name, we are on it.")
    macros.save("park", [("status", "pending"), ("tags", "+later"), ("template", "on-it")])
    second, third = OPEN_IDS_TOP[1], OPEN_IDS_TOP[2]
    before = {cid: state(cid) for cid in (FIRST, second, third)}

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ConversationsScreen)
        await pilot.press("j", "space", "space")  # marks the second and third
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, MacroMenu)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)  # no composer for several
        assert [state(c)[0] for c in (second, third)] == ["pending", "pending"]
        assert [state(c)[3] for c in (second, third)] == [("later",), ("later",)]
        assert state(FIRST) == before[FIRST]
        assert (
            "Macro 'park' applied to 2 conversations; its template is inserted only from a "
            "thread, so nothing was sent."
        ) in notices(app)
        assert Outbox.select().count() == 0
        await pilot.press("u")
        await settle(pilot)
        assert {cid: state(cid) for cid in before} == before

    drive(scenario, size=(120, 40))


def test_a_hostile_macro_name_is_shown_literally_and_stays_inert() -> None:
    macros.save("[@click=app.quit] [b]x[/b] [/", [("tags", "+x")])  # control bytes: refused

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, MacroMenu)
        assert "[@click=app.quit] [b]x[/b] [/" in screen_text(app)
        _assert_inert(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert state(FIRST)[3] == ()  # Esc applied nothing

    drive(scenario, size=(120, 40))
