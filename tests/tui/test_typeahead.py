"""Keys typed faster than the app reads them are applied in the order they were typed.

Textual 8.2.8 applies an editing key (Backspace, ←/→: an Input's or TextArea's bindings) after
the characters that came in the same terminal read behind it (docs/textual-typeahead.md, the
upstream report); deskterm.widgets.key_order works around it for every input of the desk.

The tmux tests type through a real terminal: `tmux paste-buffer` (without -p, so no bracketed
paste) writes the keys to the app's terminal at once, as a fast typist over SSH or a busy app
gets them. They skip where tmux is missing, and fail under CI instead, as the tests needing the
real mail servers do (tests/servers/serverhost.py). The Pilot tests queue the keys at the
driver without waiting between them, which shows the same reordering headless.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from deskterm.app import DeskApp
from deskterm.screens.conversations import SEARCH_DELAY
from tests.servers.serverhost import cannot_run
from tests.tui.test_app import drive, settle, the_list, until

# What `paxx⌫⌫ss` means to find: the conversations with a word starting with "pass".
PASS_HITS = {2, 16, 19}
BACKSPACE, LEFT, ENTER = "\x7f", "\x1b[D", "\r"


# --- through a real terminal (tmux) -----------------------------------------------------------

_sockets = itertools.count()


class Terminal:
    """One deskterm in a tmux session of its own (its own server socket), 80x24."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.socket = f"deskterm-typeahead-{os.getpid()}-{next(_sockets)}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout

    def start(self, command: list[str]) -> None:
        env = {
            name: os.environ[name]
            for name in ("DESKTERM_HOME", "DESKTERM_PASSPHRASE", "DESKTERM_SECRET_BACKEND")
        }
        env["DESKTERM_AGENT"] = "sam"  # the demo's agent: the app does not ask who is there
        line = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *command])
        # The pane stays after the app exits, so a crash leaves its traceback to read.
        self.tmux("new-session", "-d", "-s", "desk", "-x", "80", "-y", "24", line)
        self.tmux("set-option", "-t", "desk", "remain-on-exit", "on")

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "desk")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "desk", *keys)

    def burst(self, typed: str) -> None:
        """Write `typed` to the app's terminal in one go (one read for the app)."""
        path = self.tmp / "typed"
        path.write_text(typed)
        self.tmux("load-buffer", "-b", "typed", str(path))
        self.tmux("paste-buffer", "-d", "-b", "typed", "-t", "desk")

    def wait_for(self, check: Callable[[str], object], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal never showed {what}:\n{text}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        # tmux leaves the socket file of a killed server behind.
        sockets = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (sockets / self.socket).unlink(missing_ok=True)


@pytest.fixture
def terminal(desk_home: Path, tmp_path: Path) -> Iterator[Terminal]:
    """The demo desk open in deskterm, in a real terminal, its conversation list shown."""
    if shutil.which("tmux") is None:
        cannot_run("tmux is not installed (apt-get install tmux)")
    term = Terminal(tmp_path)
    try:
        term.start([sys.executable, "-m", "deskterm.cli", "demo", "--home", str(desk_home)])
        term.wait_for(lambda text: "/ search" in text and "Lukas Schmidt" in text, "the list")
        yield term
    finally:
        term.close()


def search_line(text: str) -> str:
    """The search box: the line above the status bar, stripped."""
    return text.rstrip("\n").splitlines()[-2].strip()


def test_backspaces_typed_fast_in_the_search_apply_before_what_follows(terminal: Terminal) -> None:
    terminal.keys("/")
    terminal.wait_for(lambda text: "search subject" in text, "the search box")
    terminal.burst(f"paxx{BACKSPACE}{BACKSPACE}ss")
    text = terminal.wait_for(lambda text: "Lukas Schmidt" not in text, "the search narrowing")
    assert search_line(text) == "pass"
    for contact in ("Raj Patel", "Ahmed Hassan", "Pedro Alves"):  # #2, #19, #16
        assert contact in text


def test_a_left_arrow_typed_fast_moves_the_cursor_before_the_next_character(
    terminal: Terminal,
) -> None:
    terminal.keys("/")
    terminal.wait_for(lambda text: "search subject" in text, "the search box")
    terminal.burst(f"ab{LEFT}c")
    # All three characters are in (in whatever order): nothing typed is still to come.
    text = terminal.wait_for(
        lambda text: "search subject" not in text and len(search_line(text)) == 3,
        "the typed text",
    )
    assert search_line(text) == "acb", text


def test_the_composer_keeps_what_is_typed_after_fast_backspaces(terminal: Terminal) -> None:
    terminal.keys("Enter")  # the thread of #4, at the top of the list
    terminal.wait_for(
        lambda text: "#4 Dashboard export" in text and "esc back" in text, "the thread"
    )
    terminal.keys("r")
    terminal.wait_for(lambda text: "Reply to #4" in text, "the composer")
    terminal.burst(f"XY{BACKSPACE}{BACKSPACE}{ENTER}{ENTER}Hi")
    # "i", the last key typed, is in the body (the quoted thread below may say "Hi," too).
    text = terminal.wait_for(
        lambda text: any(line.endswith("Hi") for line in body_lines(text)), "the typed text"
    )
    assert body_lines(text)[:4] == ["", "", "Hi", ""], text


def body_lines(text: str) -> list[str]:
    """The lines inside the composer's box, stripped."""
    lines = text.splitlines()
    top = next((n for n, line in enumerate(lines) if line.startswith("╭")), None)
    if top is None:
        return []
    return [
        line.strip("│ ")
        for line in itertools.takewhile(lambda line: not line.startswith("╰"), lines[top + 1 :])
    ]


# --- headless (Pilot) -------------------------------------------------------------------------


def typed(app: DeskApp, *keys: str) -> None:
    """Queue the keys at the driver at once, as a terminal read of them would."""
    for key in keys:
        character = {"backspace": "\x7f", "enter": "\r", "slash": "/"}.get(key, key)
        app._driver.send_message(events.Key(key, None if key == "left" else character))


def test_pilot_search_backspaces_apply_in_order(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("slash")
        typed(app, *"paxx", "backspace", "backspace", *"ss")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == "pass"
        assert set(the_list(app).ids) == PASS_HITS

    drive(scenario)


def test_pilot_left_arrow_applies_before_the_next_character(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("slash")
        typed(app, "a", "b", "left", "c")
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == "acb"

    drive(scenario)


def test_pilot_composer_backspaces_apply_in_order(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("r")
        await settle(pilot)
        body = app.screen.query_one("#body", TextArea)
        await until(pilot, lambda: body.has_focus)
        typed(app, "X", "Y", "backspace", "backspace", "enter", "enter", "H", "i")
        await settle(pilot)
        assert body.text == "\n\nHi"

    drive(scenario)


def test_a_slow_key_holds_up_the_keys_typed_after_it_only_for_a_moment() -> None:
    """Keys wait for the key before them at most KEY_STALL: a handler that takes long (or a
    key whose widget went away) never keeps what is typed next from arriving."""
    from textual.app import ComposeResult
    from textual.widget import Widget

    from deskterm.widgets.key_order import KeyOrderApp

    class Slow(Widget, can_focus=True):
        busy = False

        async def on_key(self, event: events.Key) -> None:
            event.stop()
            self.busy = True
            self.screen.set_focus(self.screen.query_one(Input))
            await asyncio.sleep(1.5)
            self.busy = False

    class Demo(KeyOrderApp[None]):
        def compose(self) -> ComposeResult:
            yield Slow()
            yield Input()

    async def main() -> None:
        app = Demo()
        async with app.run_test() as pilot:
            slow = app.query_one(Slow)
            slow.focus()
            await pilot.pause()
            for key in "xab":
                app._driver.send_message(events.Key(key, key))
            for _ in range(120):  # not pilot.pause(): that waits for the slow widget too
                if app.query_one(Input).value == "ab":
                    break
                await asyncio.sleep(0.01)
            assert app.query_one(Input).value == "ab" and slow.busy

    asyncio.run(main())
