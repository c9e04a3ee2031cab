"""Desk extras from issue 14: the composer's template insert, the download directory for a
saved attachment, rescuing skipped mail from the skipped screen, and the new-mail bell."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk import templates
from tests.tui.test_app import drive, settle
from tests.tui.test_app_compose import body, open_composer

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
