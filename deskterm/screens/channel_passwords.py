"""The channel form's passwords: what a password box says, and the question before Save
keeps a password the form's own Test just saw refused.

Kept beside `channel_form` so that the form itself stays the file's keys and their checks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content

from deskterm import paths
from deskterm.errors import SecretError
from deskterm.net.steps import StepResult
from deskterm.screens.dialog import Confirmation

# What a saved channel's password box says, by whether the store holds one (None: unknown).
PASSWORD_HINTS: dict[bool | None, str] = {
    True: "stored; type a new one to replace it",
    False: "none stored; type it to store it on Save",
    None: "type one to replace the stored one, if any",
}


def password_stored(store: Any, key: str) -> bool | None:
    """Whether the app's secret store holds `key`, as the channel list's Secrets line tells
    it: a vault not made yet holds nothing; a locked vault and the OS keyring (never read
    here, so that no desktop asks for its password) cannot say. Blocking: call from a thread.
    """
    from deskterm.secrets.store import open_secret_store

    try:
        if open_secret_store().status.kind == "keyring" or store.locked:
            return None
        if not paths.vault_file().exists():
            return False
        return store.get(key) is not None
    except SecretError:
        return None


class ConfirmRefusedPasswordScreen(Confirmation[bool]):
    """y saves a password the form's Test just saw refused, n or Esc goes back to fix it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Save it anyway", id="channel_refused.yes"),
        Binding("n,escape", "answer(False)", "Do not save", id="channel_refused.no"),
    ]

    def __init__(self, sides: list[str]) -> None:
        super().__init__()
        self.sides = sides

    def question(self) -> Content:
        which = " and ".join(self.sides)
        return Content.assemble(
            (f"The test refused this {which} password; save it anyway?", "bold"),
            " (y/n)\n\n",
            ("y", "bold $accent"),
            " save it   ",
            ("n", "bold $accent"),
            " or ",
            ("esc", "bold $accent"),
            " go back to the form",
        )


def refused_side(result: StepResult) -> str | None:
    """The side whose password a failed login step says the server refused, if any."""
    if result.ok or "refused the login" not in result.detail:
        return None
    return "outbound" if result.name.startswith("SMTP") else "inbound"
