"""The vault's passphrase, asked in a dialog: the TUI owns the terminal, so never `getpass`.

`TuiSecrets` is the app's one secret store. The worker, the channel form and its Test button
use it from their threads; when the vault needs its passphrase (and DESKTERM_PASSPHRASE is
not set) the asking thread shows `UnlockScreen` through `call_from_thread` and waits for the
answer, while the UI stays live. A wrong passphrase is said in one sentence and asked again;
Esc leaves the vault locked for this session, and every later use then fails with one
sentence saying so (the worker reports it as the reason it cannot log in).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from deskterm import paths
from deskterm.errors import SecretError
from deskterm.sanitize import one_line
from deskterm.screens.dialog import Dialog
from deskterm.screens.words import tui_sentence
from deskterm.secrets.passphrase import (
    PASSPHRASE_ENV,
    PASSPHRASE_RULE,
    given_passphrase,
    weak_passphrase,
)

if TYPE_CHECKING:
    from textual.app import App

    from deskterm.secrets.store import SecretStore

LOCKED = (
    "The vault stayed locked (no passphrase was given), so no channel password can be read; "
    'unlock it with "Unlock the vault" in the command palette (ctrl+p), or restart deskterm.'
)
# Any key makes the vault decrypt itself, which is how a passphrase is checked.
_PROBE = "deskterm/unlock-probe"


class UnlockCancelled(SecretError):
    """Esc in the passphrase dialog."""


class UnlockScreen(Dialog[str | None]):
    """Returns the passphrase typed, or None (Esc). A new vault's passphrase is typed twice."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Continue without the vault", id="unlock.cancel"),
    ]
    DEFAULT_CSS = """
    UnlockScreen > .box { width: 64; }
    UnlockScreen Input { margin-top: 1; }
    UnlockScreen .hint { margin-top: 1; }
    UnlockScreen #problem { color: $error; }
    """

    def __init__(self, creating: bool) -> None:
        super().__init__()
        self.creating = creating

    def compose(self) -> ComposeResult:
        where = one_line(str(paths.vault_file()))
        with Vertical(classes="box") as box:
            if self.creating:
                box.border_title = "New vault"
                yield Static(
                    Content(
                        f"Channel passwords will be kept in a new encrypted vault, {where}. "
                        "Choose its passphrase and type it twice."
                    )
                )
                yield Input(password=True, placeholder="new passphrase", id="passphrase")
                yield Input(password=True, placeholder="the same again", id="repeat")
                hint = "Esc cancels: no vault is made and the password is not stored."
            else:
                box.border_title = "Unlock the vault"
                yield Static(Content(f"Channel passwords are kept in the encrypted vault {where}."))
                yield Input(password=True, placeholder="vault passphrase", id="passphrase")
                hint = (
                    f"Esc continues without it: channels cannot log in. Setting {PASSPHRASE_ENV} "
                    "skips this question."
                )
            yield Static(Content(""), id="problem")
            yield Static(Content(hint), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        first = self.query_one("#passphrase", Input)
        if not first.value:
            self._problem("The passphrase must not be empty.")
            first.focus()
            return
        if self.creating:
            if weak_passphrase(first.value):  # said before the second typing, not after
                first.value = ""
                self._problem(PASSPHRASE_RULE)
                first.focus()
                return
            repeat = self.query_one("#repeat", Input)
            if event.input is first:
                repeat.focus()
                return
            if repeat.value != first.value:
                first.value = repeat.value = ""
                self._problem("The two passphrases differ; type them again.")
                first.focus()
                return
        self.dismiss(first.value)

    def _problem(self, sentence: str) -> None:
        self.query_one("#problem", Static).update(Content(sentence))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TuiSecrets:
    """The app's secret store: opened once, unlocked through `UnlockScreen`, shared by threads.

    It is the store passed to the engine's Worker and to the channel form. Every call may
    block its thread on the dialog, so it must never be made on the UI thread (Textual's
    `call_from_thread` refuses that, and so does this store, with one sentence).
    """

    def __init__(self, app: App[None], stop: threading.Event) -> None:
        self._app = app
        self._stop = stop
        self._lock = threading.Lock()
        self._store: SecretStore | None = None
        self._unlocked = False
        self._asked = False
        self.locked = False  # Esc at the unlock dialog: no secrets for this session

    @property
    def backend(self) -> str:
        """Where secrets go, once known ("vault", "SecretService.Keyring"), else ""."""
        return self._store.status.name if self._store is not None else ""

    def open(self) -> None:
        """Open the store, and unlock an existing vault now rather than at first use."""
        with self._lock:
            self._ready()

    def unlock_again(self) -> None:
        """After Esc: ask for the passphrase again (the command palette's "Unlock the vault")."""
        with self._lock:
            self.locked = False
            self._ready()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._ready().get(key)

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._ready().set(key, value)

    def delete(self, key: str) -> None:
        with self._lock:
            self._ready().delete(key)

    def ready_to_write(self) -> None:
        """SecretStore.ready_to_write through the dialog: a new vault's passphrase is asked
        now, before a sign-in's code is shown, not after the person approved it."""
        with self._lock:
            self._ready().ready_to_write()

    def _ready(self) -> SecretStore:
        if self.locked:
            raise SecretError(LOCKED)
        if self._store is None:
            from deskterm.secrets.store import open_secret_store

            self._store = open_secret_store(passphrase_provider=self._passphrase)
        store = self._store
        if (
            store.status.kind == "vault"
            and not self._unlocked
            and given_passphrase() is None
            and paths.vault_file().exists()
        ):
            self._unlock(store)
        return store

    def _unlock(self, store: SecretStore) -> None:
        """Ask until the vault opens: a SecretError after a passphrase was given means it was
        the wrong one (the vault itself says so, in one sentence, which is shown)."""
        while True:
            self._asked = False
            try:
                store.get(_PROBE)
            except UnlockCancelled:
                self.locked = True
                raise SecretError(LOCKED) from None
            except SecretError as exc:
                if not self._asked:
                    raise  # the vault is damaged or unreadable: asking again cannot help
                self._notify(tui_sentence(exc))
                continue
            self._unlocked = True
            return

    def _passphrase(self, creating: bool) -> str:
        """The vault's passphrase provider: one given without asking (the environment or a
        systemd credential, as the worker takes it), else the dialog (blocking)."""
        given = given_passphrase()
        if given is not None:
            return given
        answer: Future[str | None] = Future()

        def ask() -> None:
            self._app.push_screen(UnlockScreen(creating), answer.set_result)

        try:
            self._app.call_from_thread(ask)
        except RuntimeError:  # the app has stopped, or this is the UI thread itself
            raise SecretError(
                f"The vault passphrase cannot be asked for here; set {PASSPHRASE_ENV}."
            ) from None
        while True:
            try:
                passphrase = answer.result(timeout=0.25)
                break
            except TimeoutError:
                if self._stop.is_set():
                    raise UnlockCancelled("deskterm is closing.") from None
        if passphrase is None:
            raise UnlockCancelled(
                "No vault was created, so nothing was stored." if creating else LOCKED
            )
        self._asked = True
        return passphrase

    def _notify(self, sentence: str) -> None:
        with contextlib.suppress(RuntimeError):  # the app has stopped
            self._app.call_from_thread(self._app.notify, sentence, severity="error", markup=False)
