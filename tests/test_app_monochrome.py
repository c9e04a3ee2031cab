"""NO_COLOR: the desk still works and its screen carries no colour, only shades of grey."""

from __future__ import annotations

from textual.color import Color
from textual.filter import Monochrome, NoColor
from textual.pilot import Pilot

from deskterm.app import DeskApp
from tests.test_app import drive, make_app, segments


def _grey(color) -> bool:
    if color is None or color.is_default:
        return True
    triplet = color.get_truecolor()
    return triplet.red == triplet.green == triplet.blue


def test_no_color_renders_in_monochrome(demo_desk: None, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    filtered: list = []

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("j", "enter")
        await pilot.pause()
        assert app.no_color
        filters = [f for f in app._filters if isinstance(f, Monochrome | NoColor)]
        assert filters
        lines = [segments(app)]
        for line_filter in filters:
            lines = [line_filter.apply(line, Color(0, 0, 0)) for line in lines]
        filtered.extend(lines[0])

    drive(scenario, app=make_app())
    assert filtered
    for segment in filtered:
        if segment.style is not None:
            assert _grey(segment.style.color) and _grey(segment.style.bgcolor), segment
