"""`?` and the command palette: one coherent list in deskterm's words (issue 14, bug 5).

Textual's own defaults used to show beside deskterm's: `^c` twice (copy, and Textual's
"help quit"), the thread's arrows and Home/End twice with two different names, "Keys" twice
in the palette, and Textual's Maximize and Screenshot entries.
"""

from __future__ import annotations

from collections import Counter

from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.screens.help import HelpScreen
from tests.tui.test_app import drive, settle


def _keys(rows: list[tuple[str, str]]) -> list[str]:
    """Every key of the help, once per row it appears in (search-box rows left out: the
    search box gives Enter and Esc their own meaning while it has the focus)."""
    return [
        key for keys, what in rows if not what.startswith("Search:") for key in keys.split(", ")
    ]


def _check_help(app: DeskApp) -> None:
    assert isinstance(app.screen, HelpScreen)
    rows = app.screen.rows
    twice = [key for key, n in Counter(_keys(rows)).items() if n > 1]
    assert not twice, f"keys listed twice: {twice} in {rows}"
    descriptions = [what for _keys_, what in rows]
    assert len(descriptions) == len(set(descriptions)), rows
    text = "\n".join(f"{keys} {what}" for keys, what in rows)
    for textual_words in ("help quit", "Scroll Up", "Scroll Home", "Page Left", "palette\n"):
        assert textual_words not in text + "\n", text
    assert "Command palette" in text and "Quit" in text


def _check_palette(app: DeskApp) -> None:
    titles = [c.title for c in app.get_system_commands(app.screen)]
    assert len(titles) == len(set(titles)), titles
    assert not {"Maximize", "Minimize", "Screenshot", "Theme"} & set(titles), titles
    assert "Keys" in titles and "Quit" in titles


def test_help_and_palette_list_each_key_and_action_once(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        for _screen in ("list", "thread"):
            _check_palette(app)
            await pilot.press("question_mark")
            await pilot.pause()
            _check_help(app)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
        assert type(app.screen).__name__ == "ThreadScreen"

    drive(scenario)


def test_the_tables_and_the_composer_list_each_key_once(demo_desk: None) -> None:
    """The tables' arrows join j/k's rows; the composer's ctrl+c copies, once."""

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")  # the channel list, a table
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        _check_help(app)
        assert ("↓, j", "Next") in app.screen.rows
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("r")  # the composer: its text area has the focus
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        _check_help(app)

    drive(scenario)
