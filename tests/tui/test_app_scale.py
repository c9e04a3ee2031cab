"""The list at 100,000 conversations: it opens, jumps to the end and scrolls.

Behaviour only; how fast it is lives in bench/ui_list.py, which measures against a baseline
in the same run instead of a wall-clock limit that would flake on a busy CI machine.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.demo import desk as demo
from deskterm.desk import list_index
from deskterm.screens.thread import ThreadScreen
from deskterm.widgets.conversation_list import PAGE, PAGES_KEPT
from deskterm.widgets.list_columns import fit
from tests.tui.test_app import drive, screen_text, settle, the_list

COUNT = 100_000


def test_a_desk_of_100000_conversations_opens_and_scrolls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "sam")  # the demo's agent: the app asks nobody
    demo.build_demo(now=demo.ANCHOR)
    demo.add_synthetic(COUNT, now=demo.ANCHOR)
    expected = list_index.status_counts()["open"]
    assert expected > COUNT // 2

    def visible_subject(index: int, app: DeskApp) -> str:
        row = the_list(app).row(index)
        assert row is not None
        return fit(row["subject"], 10)[:9]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        assert len(listing.ids) == expected
        assert f"1 Open {expected}" in screen_text(app)
        await pilot.press("G")
        last = expected - 1
        assert listing.cursor == last
        assert listing.scroll_offset.y == last - listing.scrollable_content_region.height + 1
        assert visible_subject(last, app) in screen_text(app)
        await pilot.press("j", "j", "j")
        assert listing.cursor == last  # the end stays the end
        await pilot.press("k", "k", "pageup")
        assert listing.cursor < last - 2
        assert visible_subject(listing.cursor, app) in screen_text(app)
        assert len(listing._pages) <= PAGES_KEPT  # only pages near what was drawn are held
        await pilot.press("g")
        assert listing.cursor == 0 and listing.scroll_offset.y == 0
        for _ in range(3):
            await pilot.press("pagedown")
        assert listing.cursor > 3 * (listing.scrollable_content_region.height - 2)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert "Hello, this is about:" in screen_text(app)

    drive(scenario)
    assert PAGE * PAGES_KEPT < COUNT  # the cache is far smaller than the desk
