"""Desk policies in the terminal (issue 16): routing rules, SLA policies and macros listed,
added, edited and removed from `D`, at 80x24 on the demo desk, each saved through the engine
function its `deskterm` command calls (read back here through that module), and a refusal
shown as the engine's own sentence in the TUI's words; another agent's change reaches an open
list on PostgreSQL."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static, TextArea

from deskterm.app import DeskApp
from deskterm.desk import macros, sla_policies, types
from deskterm.desk.rules import rulebook, rulefile
from deskterm.errors import DeskError
from deskterm.sanitize import safe_toml_string
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.dialog import ConfirmRemove
from deskterm.screens.help import HelpScreen
from deskterm.screens.policies import MacrosScreen, RulesScreen, SlaPoliciesScreen
from deskterm.screens.policy_forms import MacroFormScreen, RuleFormScreen, SlaFormScreen
from deskterm.screens.policy_types import TypesScreen
from deskterm.screens.words import tui_sentence
from tests.engine.test_live import in_other_thread
from tests.tui.test_app import _assert_inert, drive, notices, screen_text, settle, until
from tests.tui.test_app_team_live import following

HOSTILE = "[@click=app.quit]\x1b]52;c;aGk=\x07"
VIP = 'name = "vip"\n[when]\nfrom_domain = "example.com"\n[then]\npriority = "high"\n'


def rows(app: DeskApp) -> list[list[str]]:
    table: DataTable[Text] = app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def problem(app: DeskApp) -> str:
    return str(app.screen.query_one("#problem", Static).content)


def engine_sentence(work: object) -> str:
    """What the engine says refusing `work`, as the TUI must show it."""
    with pytest.raises(DeskError) as caught:
        work()  # type: ignore[operator]
    return tui_sentence(caught.value)


async def open_list(pilot: Pilot[None], key: str, kind: type) -> None:
    await pilot.press("D")
    await settle(pilot)
    if key != "1":
        await pilot.press(key)
        await settle(pilot)
    assert isinstance(pilot.app.screen, kind), type(pilot.app.screen).__name__


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector, Input)
    pilot.app.screen.set_focus(widget)
    await pilot.press("home", "shift+end", "backspace", *text)


async def save(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


async def remove_highlighted(pilot: Pilot[None]) -> None:
    await pilot.press("d")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ConfirmRemove)
    await pilot.press("y")
    await settle(pilot)


# --- reaching it -------------------------------------------------------------------------------


def test_D_opens_the_policies_the_digits_switch_lists_and_help_and_palette_name_them(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Routing rules", "SLA policies", "Macros", "Types and fields"} <= set(titles)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert ("D", "Desk policies: rules, SLA, macros, types") in app.screen.rows
        await pilot.press("escape")
        await open_list(pilot, "1", RulesScreen)
        assert "No routing rules yet: press a to add one." in screen_text(app)
        for key, kind in (
            ("2", SlaPoliciesScreen),
            ("3", MacrosScreen),
            ("4", TypesScreen),
            ("tab", RulesScreen),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


# --- routing rules ---------------------------------------------------------------------------


def test_rules_are_added_edited_moved_and_removed_as_rule_files(demo_desk: None) -> None:
    rulebook.add(rulefile.parse_text(VIP))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "1", RulesScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RuleFormScreen)
        area = app.screen.query_one("#rule", TextArea)
        area.text = 'name = "refunds"\n[when]\nsubject = "refund"\n[then]\ntags = ["billing"]\n'
        await save(pilot)
        assert isinstance(app.screen, RulesScreen)
        assert [r[:2] for r in rows(app)] == [["1", "vip"], ["2", "refunds"]]
        assert rulebook.describe(rulebook.get("refunds"))["then"] == {"tags": ["billing"]}

        await pilot.press("K")  # the highlighted (saved) rule moves up: asked first
        await settle(pilot)
        assert rulebook.names() == ["refunds", "vip"]
        assert [r[1] for r in rows(app)] == ["refunds", "vip"]

        await pilot.press("e")  # the rule file it was saved from, to edit
        await settle(pilot)
        area = app.screen.query_one("#rule", TextArea)
        assert 'subject = ["refund"]' in area.text and 'tags = ["billing"]' in area.text
        area.text = area.text.replace('tags = ["billing"]', 'priority = "low"')
        await save(pilot)
        assert rulebook.describe(rulebook.get("refunds"))["then"] == {"priority": "low"}
        assert rulebook.get("refunds").position == 1  # an edit keeps its place

        await remove_highlighted(pilot)
        assert rulebook.names() == ["vip"]
        assert "Rule 'refunds' removed." in notices(app)

    drive(scenario)


def test_a_wrong_rule_is_refused_with_the_engines_sentence_under_the_form(
    demo_desk: None,
) -> None:
    wrong = 'name = "x"\n[then]\nescalate = "yes"\n'
    said = engine_sentence(lambda: rulefile.parse_text(wrong, "The rule"))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "1", RulesScreen)
        await pilot.press("a")
        await settle(pilot)
        app.screen.query_one("#rule", TextArea).text = wrong
        await save(pilot)
        assert isinstance(app.screen, RuleFormScreen)  # still there, to fix it
        assert "unknown action escalate" in said
        assert problem(app) == f"✗ {said}"
        assert f"Not saved: {said}" in notices(app)
        await pilot.press("escape")  # unsaved changes: warned first
        await settle(pilot)
        assert isinstance(app.screen, RuleFormScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RulesScreen)
        assert rulebook.names() == []

    drive(scenario)


def test_a_hostile_rule_is_shown_inert_in_the_list_and_the_editor(demo_desk: None) -> None:
    subject = safe_toml_string(HOSTILE)
    text = f'name = "odd"\n[when]\nsubject = {subject}\n[then]\nstatus = "pending"\n'
    rulebook.add(rulefile.parse_text(text))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "1", RulesScreen)
        assert "[@click=app.quit]" in screen_text(app)
        _assert_inert(app)
        await pilot.press("e")
        await settle(pilot)
        area = app.screen.query_one("#rule", TextArea)
        assert "\x1b" not in area.text and "\\u001b]52" in area.text
        assert rulefile.parse_text(area.text)["conditions"]["when"]["subject"] == [HOSTILE]

    drive(scenario)


# --- SLA policies ----------------------------------------------------------------------------


def test_sla_policies_are_added_edited_and_removed(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "2", SlaPoliciesScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, SlaFormScreen)
        await type_into(pilot, "#name", "urgent")
        await type_into(pilot, "#first", "1h")
        await type_into(pilot, "#hours", "mon-fri 09:00-17:00")
        app.screen.query_one("#pri", Select).value = "high"
        await save(pilot)
        assert isinstance(app.screen, SlaPoliciesScreen)
        item = sla_policies.describe(sla_policies.get("urgent"))
        assert (item["priority"], item["first_response_minutes"]) == ("high", 60)
        assert item["hours"] == "mon-fri 09:00-17:00"
        assert rows(app)[0][:4] == ["urgent", "high", "1h", "-"]

        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#first", Input).value == "1h"
        await type_into(pilot, "#resolution", "8h")
        await save(pilot)
        item = sla_policies.describe(sla_policies.get("urgent"))
        assert (item["first_response_minutes"], item["resolution_minutes"]) == (60, 480)
        assert item["priority"] == "high" and item["hours"] == "mon-fri 09:00-17:00"

        await remove_highlighted(pilot)
        assert sla_policies.all_policies() == []

    drive(scenario)


def test_a_wrong_sla_policy_is_refused_and_an_edit_refused_keeps_the_old(
    demo_desk: None,
) -> None:
    said = engine_sentence(
        lambda: sla_policies.create("x", sla_policies.Terms(first_response="soon"))
    )
    sla_policies.create("standard", sla_policies.Terms(first_response="4h"))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "2", SlaPoliciesScreen)
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#first", "soon")
        await save(pilot)
        assert isinstance(app.screen, SlaFormScreen)
        assert problem(app) == f"✗ {said}"
        assert sla_policies.get("standard").first_response_minutes == 240

    drive(scenario)


# --- macros ----------------------------------------------------------------------------------


def test_macros_are_added_edited_renamed_and_removed(demo_desk: None) -> None:
    types.add("billing")
    types.add_field("billing", "order", "text")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "3", MacrosScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, MacroFormScreen)
        await type_into(pilot, "#name", "invoice")
        await type_into(pilot, "#type", "billing")
        await type_into(pilot, "#fields", "order=A-1077")
        await type_into(pilot, "#tags", "+billing")
        app.screen.query_one("#status", Select).value = "pending"
        await save(pilot)
        assert isinstance(app.screen, MacrosScreen)
        assert macros.actions_of(macros.get("invoice")) == [
            ("type", "billing"),
            ("fields", {"order": "A-1077"}),
            ("tags", "+billing"),
            ("status", "pending"),
        ]
        assert rows(app) == [
            ["invoice", "type billing, fields order=A-1077, tags +billing, status pending"]
        ]

        await pilot.press("e")
        await settle(pilot)
        assert app.screen.query_one("#fields", Input).value == "order=A-1077"
        await type_into(pilot, "#name", "billing")
        await type_into(pilot, "#tags", "")
        await save(pilot)
        assert [m.name for m in macros.all_macros()] == ["billing"]  # renamed, not copied
        assert [a for a, _ in macros.actions_of(macros.get("billing"))] == [
            "type",
            "fields",
            "status",
        ]

        await remove_highlighted(pilot)
        assert macros.all_macros() == []

    drive(scenario)


def test_a_wrong_macro_is_refused_in_the_tuis_words(demo_desk: None) -> None:
    said = engine_sentence(lambda: macros.save("x", [("assign", "nobody-here")]))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_list(pilot, "3", MacrosScreen)
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#name", "hand-over")
        await type_into(pilot, "#assign", "nobody-here")
        await save(pilot)
        assert isinstance(app.screen, MacroFormScreen)
        assert problem(app) == f"✗ {said}"
        assert "`deskterm" not in said  # the CLI's command became the TUI's key
        assert macros.all_macros() == []

    drive(scenario)


# --- another agent's change ------------------------------------------------------------------


@pytest.mark.postgres
def test_an_open_macro_list_shows_another_admins_new_macro(
    pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deskterm.demo import desk as demo

    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    demo.build_demo(now=demo.ANCHOR)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await following(pilot, "postgresql")
        await open_list(pilot, "3", MacrosScreen)
        assert rows(app) == []
        in_other_thread(lambda: macros.save("close", [("status", "closed")]))
        await until(pilot, lambda: rows(app) == [["close", "status closed"]])

    drive(scenario)
