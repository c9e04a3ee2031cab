"""Text selected with the mouse in a thread can be copied: the message is drawn by the
`Reflowed` visual, which Textual's own selection code does not read (it knows only `Text` and
`Content`), so `MessageView` gives the selected text from the layout on screen."""

from __future__ import annotations

from textual.geometry import Offset
from textual.pilot import Pilot
from textual.selection import Selection

from deskterm.app import DeskApp
from deskterm.widgets.message_view import MessageView
from tests.tui.test_app import drive, settle


def test_the_selected_text_of_a_message_is_what_the_screen_shows(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        view = app.screen.query(MessageView).first()
        lines = str(view.content).split("\n")
        assert lines[0].startswith("▶ ")  # the header line, as laid out on screen
        line = next(i for i, text in enumerate(lines) if len(text) > 20 and i > 1)
        whole = view.get_selection(Selection(Offset(0, line), Offset(len(lines[line]), line)))
        assert whole == (lines[line], "\n")
        part = view.get_selection(Selection(Offset(2, 0), Offset(8, 1)))
        assert part is not None and part[0] == lines[0][2:] + "\n" + lines[1][:8]

    drive(scenario, size=(80, 24))
