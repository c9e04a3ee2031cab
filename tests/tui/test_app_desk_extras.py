"""Desk extras from issue 14: the composer's template insert, the download directory for a
saved attachment, rescuing skipped mail from the skipped screen, and the new-mail bell."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk import templates
from deskterm.screens.prompt import PromptScreen
from tests.tui.test_app import drive, settle
from tests.tui.test_app_compose import body, open_composer
from tests.tui.test_app_more import open_the_invoice

pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


# --- the composer's template insert ------------------------------------------------------


def test_a_template_leaves_the_cursor_on_a_new_line_after_it() -> None:
    templates.save("thanks", "Thanks, $contact_name.")  # no newline at its end

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+t", "enter")
        await settle(pilot)
        assert body(app).text == "Thanks, Lukas Schmidt.\n"
        await pilot.press("O", "K")  # typed on the line after the template
        await settle(pilot)
        assert body(app).text == "Thanks, Lukas Schmidt.\nOK"

    drive(scenario)


# --- the directory a saved attachment is proposed in -------------------------------------


def test_w_proposes_the_xdg_download_dir_then_home_never_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, elsewhere, xdg = tmp_path / "home", tmp_path / "cwd", tmp_path / "Téléchargements"
    for directory in (home, elsewhere, xdg):
        directory.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(xdg))

    async def proposed(pilot: Pilot[None]) -> str:
        await pilot.press("w")
        await settle(pilot)
        prompt = pilot.app.screen
        assert isinstance(prompt, PromptScreen)
        await pilot.press("escape")
        await settle(pilot)
        return prompt.value

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_invoice(pilot)
        assert await proposed(pilot) == str(xdg / "INV-2024-0312.pdf")
        monkeypatch.delenv("XDG_DOWNLOAD_DIR")  # no XDG dir and no ~/Downloads: home
        assert await proposed(pilot) == str(home / "INV-2024-0312.pdf")

    drive(scenario)
