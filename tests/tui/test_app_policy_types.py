"""Conversation types and their fields in the Policies screen (`D`, then `4`; issue 16), at
80x24 on the demo desk: a type and its fields added, edited and removed, each read back
through desk/types (the functions `deskterm type|field` call); refusals shown as the engine's
sentence with the settings it names as the form's fields, never as the CLI's options."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, Static

from deskterm.app import DeskApp
from deskterm.desk import macros, sla_policies, types
from deskterm.desk.rules import rulebook, rulefile, trial
from deskterm.screens.policies import RulesScreen, SlaPoliciesScreen
from deskterm.screens.policy_forms import MacroFormScreen, SlaFormScreen
from deskterm.screens.policy_types import TypesScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.rule_trial import TrialScreen
from deskterm.screens.type_forms import FieldFormScreen, TypeFormScreen
from deskterm.store.models import Conversation, RuleMatch
from deskterm.widgets.conversation_list import ConversationList
from tests.tui.test_app import _assert_inert, drive, notices, screen_text, settle
from tests.tui.test_app_policies import (
    HOSTILE,
    VIP,
    engine_sentence,
    open_list,
    problem,
    remove_highlighted,
    rows,
    save,
    type_into,
)


def highlight(app: DeskApp, key: str) -> None:
    table = app.screen.table  # type: ignore[attr-defined]
    table.move_cursor(row=table.get_row_index(key), animate=False)


def test_a_type_and_its_fields_are_added_edited_and_removed(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "4", TypesScreen)
        assert "No types yet: press a to add one." in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, TypeFormScreen)
        await type_into(pilot, "#name", "billing")
        await type_into(pilot, "#about", "Invoices")
        await save(pilot)
        assert isinstance(app.screen, TypesScreen)
        assert types.describe(types.get("billing")) == {
            "name": "billing",
            "description": "Invoices",
            "fields": [],
        }
        assert rows(app) == [["billing", "type", "", "Invoices"]]

        await pilot.press("f")  # a field of the highlighted type
        await settle(pilot)
        assert isinstance(app.screen, FieldFormScreen)
        assert "New field of type billing" in screen_text(app)
        await type_into(pilot, "#name", "plan")
        app.screen.query_one("#kind", Select).value = "choice"
        await type_into(pilot, "#choices", "Basic, Pro")
        await type_into(pilot, "#default", "pro")
        app.screen.query_one("#required", Checkbox).value = True
        await save(pilot)
        assert isinstance(app.screen, TypesScreen)
        assert types.describe(types.get("billing"))["fields"] == [
            {
                "name": "plan",
                "kind": "choice",
                "choices": ["Basic", "Pro"],
                "default": "Pro",
                "required": True,
                "restricted": False,
            }
        ]
        assert rows(app)[1] == ["  plan", "choice", "Pro", "required; choices Basic, Pro"]
        assert app.screen.current["key"] == "billing/plan"  # type: ignore[attr-defined]

        await pilot.press("e")  # the highlighted field: its name and kind stay
        await settle(pilot)
        assert isinstance(app.screen, FieldFormScreen)
        assert app.screen.query_one("#name", Input).disabled
        assert app.screen.query_one("#kind", Select).disabled
        await type_into(pilot, "#choices", "Basic, Pro, Gold")
        app.screen.query_one("#restricted", Checkbox).value = True
        await save(pilot)
        field = types.get_field("billing", "plan")
        assert (field.choices, field.default) == (["Basic", "Pro", "Gold"], "Pro")
        assert (field.required, field.restricted) == (True, True)

        highlight(app, "billing")
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, TypeFormScreen)
        assert app.screen.query_one("#name", Input).disabled
        await type_into(pilot, "#about", "Invoices and refunds")
        await save(pilot)
        assert types.get("billing").description == "Invoices and refunds"

        highlight(app, "billing/plan")
        await remove_highlighted(pilot)
        assert types.describe(types.get("billing"))["fields"] == []
        assert "Field 'plan' removed." in notices(app)
        await remove_highlighted(pilot)  # the type, highlighted again once its field went
        assert types.names() == []
        assert "Type 'billing' removed." in notices(app)

    drive(scenario)


def test_a_refused_field_says_the_forms_field_not_the_clis_option(demo_desk: None) -> None:
    types.add("billing")
    said = engine_sentence(lambda: types.add_field("billing", "tier", "choice"))
    assert (
        said == 'A choice field needs its choices; give them with "choices" (separated by commas).'
    )

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "4", TypesScreen)
        await pilot.press("f")
        await settle(pilot)
        await type_into(pilot, "#name", "tier")
        app.screen.query_one("#kind", Select).value = "choice"
        await save(pilot)
        assert isinstance(app.screen, FieldFormScreen)  # still there, to fix it
        assert problem(app) == f"✗ {said}"
        assert "--" not in problem(app)
        assert types.describe(types.get("billing"))["fields"] == []

    drive(scenario)


def test_sla_and_macro_forms_name_their_fields_in_a_refusal(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "2", SlaPoliciesScreen)
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#name", "urgent")
        await save(pilot)
        assert isinstance(app.screen, SlaFormScreen)
        assert problem(app) == (
            '✗ A policy needs a target; give "first response", "resolution" or both (e.g. 4h).'
        )
        assert sla_policies.all_policies() == []
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#name", "nothing")
        await save(pilot)
        assert isinstance(app.screen, MacroFormScreen)
        assert problem(app) == (
            '✗ The macro does nothing; give it at least one action ("status", "priority", '
            '"tags", "assign", "type", "fields", "template" or "send").'
        )
        assert macros.all_macros() == []

    drive(scenario)


def test_a_hostile_description_and_choice_are_shown_inert(demo_desk: None) -> None:
    types.add("odd", HOSTILE)
    types.add_field("odd", "pick", "choice", choices=[HOSTILE, "plain"])

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "4", TypesScreen)
        assert "[@click=app.quit]" in screen_text(app)
        _assert_inert(app)
        highlight(app, "odd/pick")
        await pilot.press("e")
        await settle(pilot)
        assert "\x1b" not in app.screen.query_one("#choices", Input).value

    drive(scenario)


# --- trying the rules on a conversation (t) ---------------------------------------------------


def test_t_tries_the_rules_on_the_listed_conversations_first_mail_storing_nothing(
    demo_desk: None,
) -> None:
    rulebook.add(rulefile.parse_text('name = "all"\n[then]\npriority = "low"\n'))
    rulebook.add(rulefile.parse_text(VIP.replace("example.com", "nowhere.example")))
    before = RuleMatch.select().count()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await settle(pilot)
        listed = app.screen.query_one(ConversationList).current_id
        assert listed is not None
        await open_list(pilot, "1", RulesScreen)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one("#answer", Input).value == str(listed)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TrialScreen)
        shown = str(app.screen.query_one("#trial", Static).content)
        assert shown == "\n".join(trial.lines(trial.trial_conversation(listed)))
        assert "Routed by rule 'all': priority low" in shown
        assert "  2 vip " in shown and "no match" in shown
        assert Conversation.get_by_id(listed).priority != "low"
        assert RuleMatch.select().count() == before
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RulesScreen)

        await pilot.press("t")  # another number typed in its place
        await settle(pilot)
        await type_into(pilot, "#answer", "9999")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RulesScreen)
        assert "There is no conversation #9999." in notices(app)

    drive(scenario)
