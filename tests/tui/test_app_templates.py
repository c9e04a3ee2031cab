"""Reply templates in the terminal: the list, the editor checked as you type, rename, remove.

Driven like an agent would, from the conversation list (`M`), on the demo desk; what was
saved is read back through `deskterm.desk.templates`, the same module `deskterm template` uses.
"""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from deskterm.app import DeskApp
from deskterm.desk import templates
from deskterm.errors import ConfigError, NotFound
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.dialog import ConfirmRemove
from deskterm.screens.help import HelpScreen
from deskterm.screens.templates import TemplateFormScreen, TemplatesScreen
from tests.tui.test_app import _assert_inert, drive, make_app, notices, screen_text, settle

HOSTILE_NAME = "[@click=app.quit]"
UNKNOWN = "Hi $customer, thanks."


pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


def unknown_sentence(body: str) -> str:
    """What `deskterm template add` says about `body`: the sentence the editor must show."""
    with pytest.raises(ConfigError) as caught:
        templates.check(body)
    return str(caught.value)


# --- helpers -------------------------------------------------------------------------------


async def open_templates(pilot: Pilot[None]) -> TemplatesScreen:
    await pilot.press("M")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TemplatesScreen), type(screen).__name__
    return screen


async def open_form(pilot: Pilot[None], *keys: str) -> TemplateFormScreen:
    """From the conversation list: M (templates), then `keys` (a: new, enter or e: edit)."""
    await open_templates(pilot)
    await pilot.press(*keys)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TemplateFormScreen), type(screen).__name__
    return screen


def rows(app: DeskApp) -> list[list[str]]:
    table: DataTable[Text] = app.screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def problems(app: DeskApp) -> tuple[str, str]:
    screen = app.screen
    return (
        str(screen.query_one("#name-problem", Static).content),
        str(screen.query_one("#body-problem", Static).content),
    )


async def retype(pilot: Pilot[None], selector: str, text: str) -> None:
    """Focus a field, select what it holds with keys, and type over it."""
    widget = pilot.app.screen.query_one(selector)
    pilot.app.screen.set_focus(widget)
    if isinstance(widget, TextArea):
        await pilot.press("f7", "backspace", *text)  # f7 selects all
    else:
        await pilot.press("home", "shift+end", "backspace", *text)
    await pilot.pause()


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_template_with_its_first_line() -> None:
    templates.save("apology", "\nSorry for the wait, $contact_name!\nWe are on it.\n")
    templates.save("thanks", "Thank you for writing about $subject.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_templates(pilot)
        assert rows(app) == [
            ["apology", "Sorry for the wait, $contact_name!"],
            ["thanks", "Thank you for writing about $subject."],
        ]
        # The highlighted template is shown in full under the table; j moves on.
        assert "We are on it." in screen_text(app)
        await pilot.press("j")
        assert "We are on it." not in screen_text(app)
        assert app.screen.query_one(DataTable).cursor_row == 1
        await pilot.press("k")
        assert app.screen.query_one(DataTable).cursor_row == 0
        await pilot.press("q")
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


def test_an_empty_desk_says_how_to_add_one() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_templates(pilot)
        assert rows(app) == []
        assert "No templates yet: press a to add one" in screen_text(app)
        await pilot.press("enter")  # nothing to edit: said, not crashed
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert "There is no template here; press a to add one." in notices(app)

    drive(scenario)


# --- adding and editing ----------------------------------------------------------------------


def test_a_template_added_with_a_is_saved_in_the_desk() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        form = await open_form(pilot, "a")
        assert app.focused is form.query_one("#name", Input)
        assert problems(app)[0] == "✗ The template needs a name."
        await pilot.press(*"welcome", "enter")  # Enter moves on to the body
        assert app.focused is form.query_one("#body", TextArea)
        await pilot.press(*"Hello $contact_name,", "enter", *"it costs $$5.")
        await pilot.pause()
        assert problems(app) == ("", "✓ Every $variable is known.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert "Template 'welcome' saved." in notices(app)
        assert rows(app) == [["welcome", "Hello $contact_name,"]]

    drive(scenario)
    assert templates.get("welcome").body == "Hello $contact_name,\nit costs $$5."


def test_editing_changes_the_body() -> None:
    templates.save("hello", "Hello $contact_name.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        form = await open_form(pilot, "enter")
        assert form.query_one("#body", TextArea).text == "Hello $contact_name."
        assert app.focused is form.query_one("#body", TextArea)  # editing starts in the body
        await pilot.press("enter", *"About #$conversation_id.", "ctrl+s")  # at the end
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert rows(app) == [["hello", "Hello $contact_name."]]

    drive(scenario)
    assert templates.get("hello").body == "Hello $contact_name.\nAbout #$conversation_id."
    assert [t.name for t in templates.all_templates()] == ["hello"]


def test_renaming_leaves_nothing_under_the_old_name() -> None:
    templates.save("a-thanks", "Thanks, $contact_name.")
    templates.save("b-other", "Something else.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "e")
        await pilot.press("shift+tab")  # from the body back to the name
        assert app.focused is app.screen.query_one("#name", Input)
        await pilot.press("home", "shift+end", "backspace", *"z-thanks", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert rows(app) == [["b-other", "Something else."], ["z-thanks", "Thanks, $contact_name."]]
        assert app.screen.query_one(DataTable).cursor_row == 1  # the renamed one

    drive(scenario)
    assert templates.get("z-thanks").body == "Thanks, $contact_name."
    with pytest.raises(NotFound):
        templates.get("a-thanks")
    assert [t.name for t in templates.all_templates()] == ["b-other", "z-thanks"]


def test_a_name_already_taken_is_refused_instead_of_overwritten() -> None:
    templates.save("hello", "Hello.")
    templates.save("thanks", "Thanks.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        await pilot.press(*"thanks")
        await retype(pilot, "#body", "Other text.")
        sentence = "There is already a template named 'thanks'; edit that one or pick another name."
        assert problems(app)[0] == f"✗ {sentence}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TemplateFormScreen)
        assert f"Not saved: {sentence}" in notices(app)

    drive(scenario)
    assert templates.get("thanks").body == "Thanks."
    assert templates.get("hello").body == "Hello."


def test_an_unknown_variable_is_named_as_you_type_and_not_saved() -> None:
    templates.save("hello", "Hello $contact_name.")
    sentence = unknown_sentence(UNKNOWN)
    assert sentence.startswith("Unknown template variable $customer; use $contact_name")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        form = await open_form(pilot, "enter")
        await retype(pilot, "#body", UNKNOWN)
        assert problems(app) == ("", f"✗ {sentence}")
        assert sentence[:60] in screen_text(app)  # under the body, as plain text
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert f"Not saved: {sentence}" in notices(app)
        await retype(pilot, "#body", "Price: 5 $")
        assert problems(app)[1] == f"✗ {unknown_sentence('Price: 5 $')}"
        await retype(pilot, "#body", "Hi $contact_name, thanks.")
        assert problems(app) == ("", "✓ Every $variable is known.")

    drive(scenario)
    assert templates.get("hello").body == "Hello $contact_name."


def test_the_editor_shows_every_variable() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        help_text = str(app.screen.query_one("#variables", Static).content)
        for name, what in templates.VARIABLES.items():
            assert f"${name}" in help_text and what in help_text
        assert "$$ writes a dollar sign" in help_text

    drive(scenario, size=(120, 40))


def test_esc_asks_before_dropping_changes() -> None:
    templates.save("hello", "Hello.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        form = await open_form(pilot, "enter")
        await pilot.press(*" More", "escape")
        await settle(pilot)
        assert app.screen is form
        assert any(n.startswith("There are unsaved changes") for n in notices(app))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        # Unchanged: one Esc is enough.
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)

    drive(scenario)
    assert templates.get("hello").body == "Hello."


# --- removing ------------------------------------------------------------------------------


def test_remove_asks_first_and_n_keeps_it() -> None:
    templates.save("hello", "Hello.")
    templates.save("thanks", "Thanks.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_templates(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmRemove)
        assert "Remove template 'hello'?" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert len(rows(app)) == 2
        await pilot.press("delete", "escape")  # Esc keeps it too
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert len(rows(app)) == 2
        await pilot.press("d", "y")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert "Template 'hello' removed." in notices(app)
        assert rows(app) == [["thanks", "Thanks."]]

    drive(scenario)
    with pytest.raises(NotFound):
        templates.get("hello")
    assert templates.get("thanks").body == "Thanks."


# --- untrusted text --------------------------------------------------------------------------


def test_a_hostile_name_is_shown_literally_and_stays_inert() -> None:
    templates.save(HOSTILE_NAME, "[b]Hi[/b] [$subject]x[/ \x1b]52;c;aGFja2Vk\x07 $subject")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_templates(pilot)
        assert rows(app)[0][0] == HOSTILE_NAME
        text = screen_text(app)
        assert HOSTILE_NAME in text
        assert "[b]Hi[/b] [$subject]x[/ ]52;c;aGFja2Vk $subject" in text
        _assert_inert(app)
        # Click the name (title, header, then the row twice): the editor opens, nothing quits.
        for y in (0, 1, 2, 2):
            await pilot.click(offset=(5, y))
        await settle(pilot)
        assert isinstance(app.screen, TemplateFormScreen)
        assert app.screen.query_one("#name", Input).value == HOSTILE_NAME
        assert f"Template {HOSTILE_NAME}" in screen_text(app)
        _assert_inert(app)
        for y in range(0, 4):
            await pilot.click(offset=(10, y))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        await pilot.press("d")
        await settle(pilot)
        assert f"Remove template '{HOSTILE_NAME}'?" in screen_text(app)
        _assert_inert(app)
        await pilot.press("n")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, TemplatesScreen)

    app = drive(scenario)
    assert app.return_code is None  # the name never quit the app


# --- reaching it ---------------------------------------------------------------------------


def test_m_and_the_palette_open_the_templates() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert ("M", "Templates (canned replies)") in app.screen.rows
        await pilot.press("escape")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Templates"].callback()
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        await pilot.press("question_mark")
        keys = dict((what, keys) for keys, what in app.screen.rows)
        assert keys["Add a template"] == "a"
        assert keys["Remove"] == "d, del"
        await pilot.press("escape", "a")
        await settle(pilot)
        await pilot.press("f1")  # in the editor ? is typed, so the keys are on F1
        assert isinstance(app.screen, HelpScreen)
        keys = dict((what, keys) for keys, what in app.screen.rows)
        assert keys["Save"] == "^s"

    drive(scenario)


# --- what it looks like ----------------------------------------------------------------------
# After a deliberate change, look at the new picture and accept it with
# `uv run pytest tests/tui/test_app_templates.py --snapshot-update` (tests/tui/__snapshots__/).


async def _editor_with_a_mistake(pilot: Pilot[None]) -> None:
    templates.save("apology", "Sorry for the wait, $contact_name!\n\nWe are on it.")
    templates.save("thanks", "Thank you for writing about $subject.")
    await settle(pilot)
    await pilot.press("M")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    for widget in pilot.app.screen.query("TextArea, Input"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.press(*" Best, $agent")
    await pilot.pause()


def test_template_editor_snapshot(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_editor_with_a_mistake)


def test_f2_previews_the_text_with_sample_values_before_saving() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        await retype(pilot, "#name", "thanks")
        await retype(pilot, "#body", "Hi $contact_name, about #$conversation_id.")
        await pilot.press("f2")
        await pilot.pause()
        below = str(app.screen.query_one("#variables", Static).content)
        assert below.startswith("Preview") and "Hi Jane Doe, about #42." in below
        await retype(pilot, "#body", "Hi $contact_name, about $subject.")  # follows typing
        below = str(app.screen.query_one("#variables", Static).content)
        assert "Hi Jane Doe, about Where is my order?." in below
        await pilot.press("f2")
        await pilot.pause()
        assert "$contact_name" in str(app.screen.query_one("#variables", Static).content)

    drive(scenario, size=(120, 40))
    with pytest.raises(NotFound):
        templates.get("thanks")  # a preview saves nothing


def test_the_invitation_has_its_own_variables_and_preview() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        await retype(pilot, "#name", "invitation")
        help_text = str(app.screen.query_one("#variables", Static).content)
        assert "$invitee_handle" in help_text and "$contact_name" not in help_text
        await retype(pilot, "#body", "Hi $contact_name")
        assert "Unknown template variable $contact_name" in problems(app)[1]
        await retype(pilot, "#body", "Welcome $invitee_name, you are $invitee_handle.")
        await pilot.press("f2")
        await pilot.pause()
        below = str(app.screen.query_one("#variables", Static).content)
        assert "Welcome Robin Example, you are robin." in below
        await pilot.press("ctrl+s")
        await settle(pilot)

    drive(scenario, size=(120, 40))
    assert templates.get("invitation").body == "Welcome $invitee_name, you are $invitee_handle."
