"""A desk with no channel says what a channel is and which key adds one (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from deskterm.app import DeskApp
from deskterm.screens.channels import ChannelsScreen
from deskterm.store import connection
from tests.tui.test_app import drive, settle


def hint(app: DeskApp) -> Static | None:
    """The hint, where it is on screen (displayed, with room to be read)."""
    found = [w for w in app.screen.query(Static) if "press C to add a channel" in str(w.render())]
    shown = [w for w in found if w.display and w.region.height > 0]
    return shown[0] if shown else None


@pytest.mark.usefixtures("desk_home")
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_an_empty_desk_says_press_c_to_add_a_channel(size: tuple[int, int]) -> None:
    connection.open_database()  # a new desk, as `deskterm` opens it

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        shown = hint(app)
        assert shown is not None, "no hint on an empty desk"
        text = str(shown.render())
        assert "A channel is one support mailbox" in text
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)

    drive(scenario, size=size)


def test_a_desk_with_a_channel_gives_no_hint(draft_channel: Any) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert hint(app) is None

    drive(scenario)


@pytest.mark.usefixtures("demo_desk")
def test_the_demo_desk_gives_no_hint() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert hint(app) is None

    drive(scenario)
