"""Trust a channel's certificate again: `deskterm channel trust NAME`, as a dialog.

A channel with `allow_self_signed = true` pins its server's certificate on first contact and
refuses any other one afterwards. When the server's certificate really was replaced, this
dialog reads the certificate each server presents now (`channels/trust.py`, on the same code as
the CLI, in a thread: it is a TLS handshake, never a login), shows the pinned and presented
SHA-256 fingerprints side by side, and pins the new ones only when the admin presses `y`.

Fingerprints and server answers are remote text: shown as `Content`, never markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from deskterm.channels.trust import SideCertificate, pin_certificates, read_certificates
from deskterm.errors import DeskError
from deskterm.sanitize import one_line
from deskterm.screens.dialog import Dialog
from deskterm.screens.words import tui_sentence

PAIRS_PER_LINE = 16  # a SHA-256 fingerprint is 32 hex pairs: two lines of 47 characters


def fingerprint_lines(fingerprint: str) -> list[str]:
    pairs = fingerprint.split(":")
    return [":".join(pairs[i : i + PAIRS_PER_LINE]) for i in range(0, len(pairs), PAIRS_PER_LINE)]


class TrustScreen(Dialog[bool]):
    """Returns True when a certificate was pinned."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "pin", "Pin the certificates shown as new", id="trust.pin"),
        Binding("escape,n,q", "cancel", "Leave the pins as they are", id="trust.cancel"),
    ]
    DEFAULT_CSS = """
    TrustScreen > .box { width: 64; max-height: 100%; }
    TrustScreen #sides { height: auto; max-height: 16; }
    TrustScreen .note { padding-left: 2; }
    TrustScreen #question { margin-top: 1; }
    TrustScreen #buttons { height: 1; margin-top: 1; }
    TrustScreen #buttons > Button { margin-right: 2; }
    """

    class Read(Message):
        def __init__(self, sides: list[SideCertificate], error: str = "") -> None:
            super().__init__()
            self.sides = sides
            self.error = error  # the channel could not be read at all

    class Pinned(Message):
        def __init__(self, sides: list[str]) -> None:
            super().__init__()
            self.sides = sides

    def __init__(self, name: str) -> None:
        super().__init__()
        self.channel_name = name
        self.sides: list[SideCertificate] | None = None  # None while the servers are asked
        self.pinning = False

    @property
    def changed(self) -> list[SideCertificate]:
        return [side for side in self.sides or [] if side.changed]

    def compose(self) -> ComposeResult:
        with Vertical(classes="box") as box:
            box.border_title = Content(f"Trust the certificates of {self.channel_name}")
            with VerticalScroll(id="sides"):
                yield Static(Content("Asking the servers for their certificates…"))
            yield Static(Content(""), id="question")
            with Horizontal(id="buttons"):
                yield Button("Pin", id="pin", variant="warning", compact=True, disabled=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # Enter on the default answer pins nothing
        self._read(self.channel_name)

    @work(
        thread=True,
        exclusive=True,
        group="trust",
        exit_on_error=False,
        description="reading the servers' certificates",
    )
    def _read(self, name: str) -> None:
        try:
            self.post_message(self.Read(read_certificates(name)))
        except DeskError as exc:  # the channel was removed or its settings are incomplete
            self.post_message(self.Read([], tui_sentence(exc)))

    def on_trust_screen_read(self, message: Read) -> None:
        self.sides = message.sides
        box = self.query_one("#sides", VerticalScroll)
        box.remove_children()
        if message.error:
            box.mount(Static(Content.assemble(("✗ ", "bold $error"), one_line(message.error))))
        elif not message.sides:
            box.mount(Static(Content(f"Channel {self.channel_name!r} has no servers.")))
        for side in message.sides:
            box.mount_all(self._describe(side))
        count = len(self.changed)
        if count:
            which = " and ".join(side.side for side in self.changed)
            question = Content.assemble(
                (f"Trust the new {which} certificate{'s' if count > 1 else ''}? ", "bold"),
                "Only if you expected it (the server is new, or its certificate was "
                "replaced): y pins, Esc leaves the pins as they are.",
            )
        else:
            question = Content("Nothing to pin. Esc closes.")
        self.query_one("#question", Static).update(question)
        self.query_one("#pin", Button).disabled = not count

    def _describe(self, side: SideCertificate) -> list[Static]:
        """A side's server, its pinned and presented fingerprints, and the verdict."""
        head = Content.styled(f"{side.side}  {one_line(side.where)}", "bold")
        if side.note:
            return [Static(head), Static(Content(one_line(side.note)), classes="note")]
        lines = [head]
        for label, value in (("pinned", side.pinned), ("server", side.seen)):
            if label == "server" and value is None:
                continue
            shown = fingerprint_lines(one_line(value)) if value else ["(nothing pinned yet)"]
            for index, line in enumerate(shown):
                lines.append(Content(f"  {label if index == 0 else '':<8}{line}"))
        if side.error:
            verdict = Content.assemble(("✗ ", "bold $error"), one_line(side.error))
        elif side.changed and side.pinned:
            verdict = Content.styled(
                "✗ changed: the server presents another certificate", "$warning"
            )
        elif side.changed:
            verdict = Content.styled("! not pinned yet", "$warning")
        else:
            verdict = Content.styled("✓ the server presents the pinned certificate", "$success")
        return [Static(Content("\n").join(lines)), Static(verdict, classes="note")]

    @on(Button.Pressed, "#pin")
    def _pin_pressed(self) -> None:
        self.action_pin()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_pin(self) -> None:
        if self.sides is None:
            self.notify("The certificates are still being read.", markup=False)
            return
        if not self.changed:
            self.notify("There is no new certificate to pin.", markup=False)
            return
        if self.pinning:
            return
        self.pinning = True
        self.query_one("#pin", Button).disabled = True
        self._pin(self.channel_name, list(self.sides))

    @work(
        thread=True,
        exclusive=True,
        group="trust-pin",
        exit_on_error=False,
        description="pinning the certificate",
    )
    def _pin(self, name: str, shown: list[SideCertificate]) -> None:
        try:
            self.post_message(self.Pinned(pin_certificates(name, shown)))
        except BaseException:
            self.post_message(self.Pinned([]))
            raise  # reported by on_worker_state_changed

    def on_trust_screen_pinned(self, message: Pinned) -> None:
        self.pinning = False
        if not message.sides:
            self.dismiss(False)
            return
        which = " and ".join(message.sides)
        plural = "s are" if len(message.sides) > 1 else " is"
        self.notify(
            f"The {which} certificate{plural} pinned for {self.channel_name!r}.", markup=False
        )
        self.desk.recheck_channels()  # a channel cooling off on the old pin is tried again now
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
