"""Sign a channel in to its OAuth2 provider: `deskterm channel auth NAME`, as a dialog.

The same engine code as the command (`channels/authorize.py`, the device grant, RFC 8628), in
threads: the provider is asked for a short code, the dialog shows it with the URL where anyone,
on any device, enters it, and counts down while the provider is polled at the interval it
asks for. Signed in, the refresh token is stored (through the app's secret store) and the
dialog closes; declined, expired or failed, it says why in one sentence. Esc cancels at once,
also while waiting: the poll's wait is the cancel event's.

The code and URL come from the provider: shown as `Content`, never markup.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from deskterm.channels import authorize
from deskterm.channels import registry as channels
from deskterm.errors import DeskError
from deskterm.net.oauth2 import DeviceCode, OAuthError
from deskterm.sanitize import one_line
from deskterm.screens.dialog import Dialog
from deskterm.screens.words import tui_sentence

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class SignInScreen(Dialog[bool]):
    """Returns True when the channel was signed in; `side` names a side's own [….oauth2]
    table (None: the channel's [oauth2])."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel the sign-in", id="sign_in.cancel"),
    ]
    DEFAULT_CSS = """
    SignInScreen > .box { width: 68; }
    SignInScreen #code { text-style: bold; padding: 1 0; text-align: center; }
    SignInScreen #waiting { margin-top: 1; }
    """

    class Started(Message):
        def __init__(self, device: DeviceCode) -> None:
            super().__init__()
            self.device = device

    class Ended(Message):
        def __init__(self, error: str = "") -> None:
            super().__init__()
            self.error = error  # "": signed in

    def __init__(self, name: str, side: str | None = None) -> None:
        super().__init__()
        self.channel_name = name
        self.side = side
        self.device: DeviceCode | None = None  # the code shown, once the provider gave one
        self.error = ""  # why the sign-in ended without a token
        self._cancel = threading.Event()
        self._ticks = 0
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        which = f" ({self.side})" if self.side else ""
        with Vertical(classes="box") as box:
            box.border_title = Content(f"Sign in {self.channel_name}{which} with OAuth2")
            yield Static(Content("Asking the provider for a sign-in code…"), id="where")
            yield Static(Content(""), id="code")
            yield Static(Content(""), id="waiting")
            yield Static(Content("Esc cancels."), id="hint", classes="hint")

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.25, self._tick)
        self._sign_in(self.channel_name, self.side)

    @work(
        thread=True,
        exclusive=True,
        group="sign-in",
        exit_on_error=False,
        description="signing the channel in",
    )
    def _sign_in(self, name: str, side: str | None) -> None:
        store = self.desk.secrets
        try:
            started = authorize.start(channels.get(name), store, side)
            self.post_message(self.Started(started.device))
            authorize.finish(started, store, sleep=self._cancel.wait, cancelled=self._cancel.is_set)
        except OAuthError as exc:
            self.post_message(self.Ended(tui_sentence(exc.with_advice("press O to try again"))))
        except DeskError as exc:
            self.post_message(self.Ended(tui_sentence(exc)))
        except BaseException:
            self.post_message(self.Ended("The sign-in failed unexpectedly."))
            raise  # reported by on_worker_state_changed
        else:
            self.post_message(self.Ended())

    def on_sign_in_screen_started(self, message: Started) -> None:
        device = self.device = message.device
        lines = [
            Content.assemble("Open ", (one_line(device.verification_uri), "bold underline")),
            Content("on any device, sign in, and enter this code:"),
        ]
        if device.verification_uri_complete:
            complete = one_line(device.verification_uri_complete)
            lines.append(Content.assemble("(or open ", (complete, "underline"), ")"))
        self.query_one("#where", Static).update(Content("\n").join(lines))
        self.query_one("#code", Static).update(Content(one_line(device.user_code)))
        self._tick()

    def _tick(self) -> None:
        """Waiting, visibly: a spinner, and how long the code has left."""
        if self.device is None or self.error:
            return
        self._ticks += 1
        left = max(0, int(self.device.expires_at - time.time()))
        spinner = SPINNER[self._ticks % len(SPINNER)]
        expires = f"{left // 60}:{left % 60:02d}"
        self.query_one("#waiting", Static).update(
            Content(f"{spinner} Waiting for the sign-in; the code expires in {expires}.")
        )

    def on_sign_in_screen_ended(self, message: Ended) -> None:
        if self._cancel.is_set():
            return  # cancelled: the dialog is gone already
        if self._timer is not None:
            self._timer.stop()
        if not message.error:
            self.notify(
                f"Channel {self.channel_name!r} is signed in; it logs in with OAuth2 from now on.",
                markup=False,
            )
            self.desk.recheck_channels()  # a channel failing for want of a sign-in goes on now
            self.dismiss(True)
            return
        self.error = message.error
        self.query_one("#waiting", Static).update(
            Content.assemble(("✗ ", "bold $error"), one_line(message.error))
        )
        self.query_one("#hint", Static).update(Content("Esc closes."))

    def action_cancel(self) -> None:
        self._cancel.set()  # the poll's wait returns at once and the sign-in ends
        self.dismiss(False)
