"""Where deskterm keeps passwords and tokens: the one interface the rest of the app uses.

A secret goes to the OS keyring only when that keyring really is secure. keyring's own choice
cannot be trusted for this: on a headless machine it is the `fail` backend, and with
keyrings.alt installed it silently becomes a plaintext file. So backends are judged by an
allow-list of classes, and anything else falls back to deskterm's encrypted vault.

`DESKTERM_SECRET_BACKEND=keyring|vault` overrides the choice.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import keyring
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from deskterm import paths, settings
from deskterm.errors import SecretError
from deskterm.process import child_env
from deskterm.secrets.passphrase import PassphraseProvider
from deskterm.secrets.vault import VaultKeyring

SERVICE = "deskterm"
BACKEND_ENV = settings.SECRET_BACKEND
# How long one OS keyring call may take. Long enough for a person to answer a desktop unlock
# prompt, short enough that a keyring that will never answer does not freeze the app.
KEYRING_TIMEOUT = 30.0

# Backends that keep secrets encrypted under the user's login. Everything else (keyrings.alt's
# plaintext and "encrypted" files, keyring's fail and null backends) is refused.
SECURE_KEYRINGS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
    }
)

T = TypeVar("T")


@dataclass(frozen=True)
class BackendStatus:
    """Which store holds the secrets and why, so the app can tell the user."""

    name: str
    kind: Literal["keyring", "vault"]
    reason: str


class SecretStore:
    """Secrets by key, all under the service name `SERVICE`; every failure is a SecretError."""

    def __init__(self, backend: KeyringBackend, status: BackendStatus) -> None:
        self._backend = backend
        self.status = status

    def get(self, key: str) -> str | None:
        return self._call("read", self._backend.get_password, SERVICE, key)

    def set(self, key: str, value: str) -> None:
        self._call("store", self._backend.set_password, SERVICE, key, value)

    def delete(self, key: str) -> None:
        """Forget a secret; nothing happens when there is none (keyring backends raise there)."""
        if self.get(key) is not None:
            self._call("delete", self._backend.delete_password, SERVICE, key)

    def ready_to_write(self) -> None:
        """Ask now whatever a write would ask (a vault's passphrase, a new vault's twice), before
        the caller obtains a secret it cannot get again (see VaultKeyring.ready_to_write);
        nothing for an OS keyring, which asks nobody here."""
        if isinstance(self._backend, VaultKeyring):
            self._backend.ready_to_write()

    def unlock_ahead(self) -> None:
        """Let the vault derive its key in the background while the caller starts up (see
        VaultKeyring.unlock_ahead); nothing for an OS keyring."""
        if isinstance(self._backend, VaultKeyring):
            self._backend.unlock_ahead()

    def __repr__(self) -> str:
        return f"SecretStore(backend={self.status.name!r}, kind={self.status.kind!r})"

    def _call(self, action: str, method: Callable[..., T], *args: str) -> T:
        if self.status.kind == "vault":
            # The vault may ask for its passphrase on the terminal: no time limit, and it
            # raises SecretError itself.
            return method(*args)
        try:
            return _bounded(lambda: method(*args))
        except SecretError:
            raise
        except _NoAnswer:
            raise SecretError(
                f"The OS keyring ({self.status.name}) did not answer within "
                f"{KEYRING_TIMEOUT:g} seconds (it may be locked and waiting for a prompt); "
                f"unlock it, or set {BACKEND_ENV}=vault."
            ) from None
        except Exception as exc:
            raise SecretError(
                f"The OS keyring ({self.status.name}) could not {action} a secret "
                f"({type(exc).__name__}); unlock or restart it, or set {BACKEND_ENV}=vault."
            ) from exc


def open_secret_store(passphrase_provider: PassphraseProvider | None = None) -> SecretStore:
    """The store to use on this machine: a secure OS keyring, else the vault.

    `passphrase_provider` is only used by the vault (see VaultKeyring); a TUI passes one that
    asks in its own dialog. Open one store per run: the vault asks for its passphrase once per
    store.
    """
    choice = settings.current().secret_backend
    vault_path = paths.vault_file()
    if choice == "vault":
        return _vault_store(
            passphrase_provider,
            f"{BACKEND_ENV}=vault chose the AES-256-GCM vault at {vault_path}.",
        )
    secure, found = _probe_keyring()
    if secure is not None:
        name = _name(secure)
        via = "" if found == name else f" (through {found})"
        reason = (
            f"{BACKEND_ENV}=keyring chose the OS keyring {name}{via}."
            if choice
            else f"The OS keyring {name}{via} is secure, so secrets are kept there."
        )
        return SecretStore(secure, BackendStatus(name=name, kind="keyring", reason=reason))
    if choice == "keyring":
        raise SecretError(
            f"{BACKEND_ENV}=keyring but no secure OS keyring is available (keyring found "
            f"{found}); start and unlock one (e.g. gnome-keyring), or set {BACKEND_ENV}=vault."
        )
    return _vault_store(
        passphrase_provider,
        f"No secure OS keyring is available (keyring found {found}); secrets are kept in the "
        f"AES-256-GCM vault at {vault_path}.",
    )


def run_password_command(argv: Sequence[str], timeout: float = 10.0) -> str:
    """Run a password command (like isync's PassCmd, e.g. `pass show mail/desk`): first line.

    No shell, so nothing in argv is interpreted; stdin is closed, so a command that wants to
    ask something fails instead of stealing the terminal; its environment is `child_env()`,
    so it never sees the vault passphrase or another secret deskterm was given. Its output
    is the secret and its error output may hold secrets too, so neither ever reaches a message
    or a log: failures name only the program (argv[0]) and the exit status.
    """
    if not argv:
        raise SecretError("The password command is empty; give the program to run.")
    program = argv[0]
    problem = ""
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=child_env(),
        )
    except FileNotFoundError:
        problem = "was not found; check the program's name and PATH"
    except subprocess.TimeoutExpired:
        problem = (
            f"did not finish within {timeout:g} seconds and was stopped; "
            f"check that it runs without asking for anything"
        )
    except OSError as exc:
        problem = f"could not be started ({exc.strerror}); check that it is an executable"
    # Raised outside the except blocks so that no exception holding the output (TimeoutExpired
    # keeps it) is chained into the traceback.
    if problem:
        raise SecretError(f"The password command {program!r} {problem}.")
    status = done.returncode
    if status != 0:
        printed = " and printed an error" if done.stderr.strip() else ""
        raise SecretError(
            f"The password command {program!r} failed with exit status {status}{printed}; "
            f"run it yourself to see why."
        )
    first_line = done.stdout.split(b"\n", 1)[0].removesuffix(b"\r")
    if not first_line:
        raise SecretError(
            f"The password command {program!r} exited with status 0 but printed no password "
            f"on its first line; make it print the password."
        )
    try:
        return first_line.decode("utf-8")
    except UnicodeDecodeError:
        pass  # not chained: the exception holds the output
    raise SecretError(
        f"The password command {program!r} (exit status 0) printed a first line that is not "
        f"UTF-8 text; make it print the password."
    )


def _vault_store(provider: PassphraseProvider | None, reason: str) -> SecretStore:
    vault = VaultKeyring(paths.vault_file(), provider)
    return SecretStore(vault, BackendStatus(name="vault", kind="vault", reason=reason))


def _probe_keyring() -> tuple[KeyringBackend | None, str]:
    """(the secure keyring backend or None, a description of what keyring offered).

    A chainer counts only through its secure members, and the first of them is used directly,
    so that a write can never land in a plaintext member.
    """

    def probe() -> tuple[KeyringBackend | None, str]:
        offered = keyring.get_keyring()
        if isinstance(offered, ChainerBackend):
            members = list(offered.backends)
            names = ", ".join(_name(m) for m in members) or "no backends"
            secure = next((m for m in members if _is_secure(m)), None)
            return secure, f"chainer.ChainerBackend of {names}"
        return (offered if _is_secure(offered) else None), _name(offered)

    try:
        return _bounded(probe)
    except _NoAnswer:
        raise SecretError(
            f"The OS keyring did not answer within {KEYRING_TIMEOUT:g} seconds while deskterm "
            f"looked for it; check that its daemon runs, or set {BACKEND_ENV}=vault."
        ) from None
    except Exception as exc:
        raise SecretError(
            f"keyring could not load its backend ({type(exc).__name__}: {exc}); fix "
            f"PYTHON_KEYRING_BACKEND or keyringrc.cfg, or set {BACKEND_ENV}=vault."
        ) from exc


def _qualified(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_secure(backend: KeyringBackend) -> bool:
    """Exact classes only: a subclass of a secure backend may store things differently."""
    return _qualified(backend) in SECURE_KEYRINGS


def _name(backend: KeyringBackend) -> str:
    return _qualified(backend).removeprefix("keyring.backends.")


class _NoAnswer(Exception):
    """A bounded call was still running when its time ran out."""


def _bounded(call: Callable[[], T]) -> T:
    """Run `call` in a daemon thread and wait at most KEYRING_TIMEOUT seconds for it.

    secretstorage's D-Bus calls have no timeout, and keyring unlocks a locked collection by
    showing a prompt and waiting for its answer forever; with no desktop to show the prompt on
    (an SSH session) that is a hang. A call still blocked is abandoned: its thread is a daemon,
    so it does not keep the process alive.
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="deskterm-keyring", daemon=True)
    thread.start()
    thread.join(KEYRING_TIMEOUT)
    if errors:
        raise errors[0]
    if not results:
        raise _NoAnswer
    return results[0]
