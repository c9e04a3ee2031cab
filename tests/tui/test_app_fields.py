"""Conversation types and custom fields in the app (issue 16): the thread says the type and
each field under its header, `F` sets a field or the type, a refusal is one sentence in the
app's keys, and the list's `F` filter takes `type:` and `field:`."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, Static

from deskterm.app import DeskApp
from deskterm.desk import fields, types
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import FieldValue
from tests.tui.test_app import drive, notices, screen_text, settle, the_list
from tests.tui.test_app_thread_moves import DASHBOARD, open_thread

HOSTILE_VALUE = "[@click=app.quit]Q[/] \x1b]52;c;aGk=\x07"


def define_billing() -> None:
    types.add("billing")
    types.add_field("billing", "order", "text")
    types.add_field("billing", "plan", "choice", choices=["Basic", "Pro"], default="Basic")
    types.add_field("billing", "account", "text", required=True)


def fields_line(app: DeskApp) -> str:
    return str(app.screen.query_one("#fields", Static).render())


async def answer(pilot: Pilot[None], text: str) -> None:
    await pilot.press("F")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


def test_the_thread_shows_the_type_and_fields_and_F_sets_them(demo_desk: None) -> None:
    define_billing()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        assert app.screen.query_one("#fields", Static).has_class("-none")  # untyped
        await answer(pilot, "type billing")
        assert isinstance(app.screen, ThreadScreen)
        assert notices(app)[-1] == f"#{DASHBOARD}: of type billing."
        assert fields_line(app) == "Type billing · order — · plan Basic · account — (required)"
        await answer(pilot, "order A-77 b")
        assert notices(app)[-1] == f"#{DASHBOARD}: order A-77 b."
        assert "order A-77 b" in fields_line(app)
        assert "Type billing · order A-77 b" in screen_text(app)
        assert [v.value for v in FieldValue.select().order_by(FieldValue.id)][-1] == "A-77 b"

    drive(scenario)


def test_a_refused_value_is_one_sentence_and_a_hostile_one_stays_inert(demo_desk: None) -> None:
    define_billing()
    types.set_type(DASHBOARD, "billing")
    fields.set_value(DASHBOARD, "order", HOSTILE_VALUE)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, DASHBOARD)
        line = fields_line(app)
        assert "\x1b" not in line and "\x07" not in line
        assert "[@click=app.quit]Q[/]" in line  # shown as text, not as markup
        await answer(pilot, "plan gold")
        assert notices(app)[-1] == "plan takes one of Basic, Pro; 'gold' is not one of them."
        await answer(pilot, "type none")
        assert app.screen.query_one("#fields", Static).has_class("-none")
        await answer(pilot, "order A-1")
        assert notices(app)[-1] == (
            "#4 has no type, so no fields; give it one with F in the thread, then type NAME "
            "(the F prompt in the thread shows them)."
        )

    drive(scenario)


def test_the_list_filters_by_type_and_field(demo_desk: None) -> None:
    define_billing()
    types.set_type(DASHBOARD, "billing")
    types.set_type(1, "billing")
    fields.set_value(DASHBOARD, "order", "A-77")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("F")
        await settle(pilot)
        app.screen.query_one(Input).value = "type:billing"
        await pilot.press("enter")
        await settle(pilot)
        assert sorted(the_list(app).ids) == [1, DASHBOARD]
        await pilot.press("F")
        await settle(pilot)
        app.screen.query_one(Input).value = "field:order=a-77"
        await pilot.press("enter")
        await settle(pilot)
        assert the_list(app).ids == [DASHBOARD]
        assert "field:order=a-77" in screen_text(app)

    drive(scenario)
