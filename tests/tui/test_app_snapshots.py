"""What the desk looks like: SVG snapshots of the list and a thread at 80x24 and 120x40, and
of the agent's moves at 80x24 (help, the status menu, a message's links, the contact's other
conversations).

The demo desk and the clock are fixed (ages are computed from the demo's anchor), and the
worker is off, so the pictures only change when the UI does. After a deliberate change, look
at the new pictures and accept them with `uv run pytest tests/tui/test_app_snapshots.py
--snapshot-update`; they live in tests/tui/__snapshots__/.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.tui.test_app import make_app, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


async def loaded(pilot: Pilot[None]) -> None:
    await settle(pilot)


async def thread_open(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("enter")  # the four-message thread, with its quotes folded
    await settle(pilot)


async def hostile_thread_open(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("j", "j", "j", "enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_conversation_list(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_thread(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=thread_open)


def test_hostile_thread(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=hostile_thread_open)


def pressing(*keys: str, opening: tuple[str, ...] = ()):
    """A run_before that presses `opening` (to open a thread), then `keys`."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        if opening:
            await pilot.press(*opening)
            await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


FIRST = ("enter",)  # the four-message thread
HOSTILE = ("j", "j", "j", "enter")  # the one with links


@pytest.mark.parametrize(
    ("keys", "opening"),
    [
        pytest.param(("question_mark",), (), id="help"),
        pytest.param(("s",), (), id="status_menu"),
        pytest.param(("l",), HOSTILE, id="links"),
        pytest.param(("C",), FIRST, id="other_conversations"),
    ],
)
def test_moves(snap_compare, keys: tuple[str, ...], opening: tuple[str, ...]) -> None:
    run_before = pressing(*keys, opening=opening)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
