"""NO_COLOR: the desk still works, and what it shows with colour it also shows without.

Textual honours NO_COLOR by passing every line through a monochrome filter, for any app;
what is deskterm's is whether its screen survives that: the list's cursor is a block of its
own shade (not a hue), an unread conversation is marked by a dot and bold text, status and
priority are words.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.screens.thread import ThreadScreen
from tests.tui.test_app import drive, make_app, the_list


def terminal_lines(app: DeskApp) -> list[list[Segment]]:
    """The screen as the terminal receives it: the compositor's lines through the app's
    filters (NO_COLOR's monochrome among them)."""
    lines = [list(strip) for strip in app.screen._compositor.render_strips()]
    for line_filter in app._filters:
        lines = [line_filter.apply(line, Color(0, 0, 0)) for line in lines]
    return lines


def list_rows(app: DeskApp) -> dict[int, list[Segment]]:
    """The conversation list's lines as shown, by conversation id (its # column)."""
    listing = the_list(app)
    lines = terminal_lines(app)
    rows = {}
    for y in range(listing.region.y, listing.region.bottom):
        text = "".join(segment.text for segment in lines[y])
        if text[2:8].strip().isdigit():
            rows[int(text[2:8])] = lines[y]
    return rows


def backgrounds(line: list[Segment]) -> set[Color | None]:
    return {segment.style.bgcolor if segment.style else None for segment in line}


def standing_out(app: DeskApp) -> list[int]:
    """The rows whose background no other row has: where the eye finds the cursor."""
    rows = list_rows(app)
    return [
        conversation
        for conversation, line in rows.items()
        if all(
            backgrounds(line) - backgrounds(other) for c, other in rows.items() if c != conversation
        )
    ]


def unread_mark(line: list[Segment]) -> tuple[str, bool]:
    """(the unread column's text, whether the row's words are bold)."""
    words = [segment for segment in line if segment.text.strip()]
    return line[0].text[0], all(bool(s.style and s.style.bold) for s in words)


def test_no_color_keeps_the_cursor_unread_status_and_priority_visible(
    demo_desk: None, monkeypatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        assert app.no_color  # the environment was honoured
        listing = the_list(app)
        first, second = listing.ids[:2]
        assert standing_out(app) == [first]
        await pilot.press("j")
        await pilot.pause()
        assert standing_out(app) == [second]

        rows = list_rows(app)
        assert unread_mark(rows[second]) == ("●", True)
        text = "".join(segment.text for segment in rows[first])
        assert " open " in text and " high " in text  # words, not colours

        await pilot.press("enter")  # read it
        await pilot.pause()
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert unread_mark(list_rows(app)[second]) == (" ", False)
        assert standing_out(app) == [second]

    drive(scenario, app=make_app())
