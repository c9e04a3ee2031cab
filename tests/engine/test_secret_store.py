"""Choosing where secrets go, and keeping them out of messages, logs and tracebacks."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.compat import properties
from keyrings.alt.file import PlaintextKeyring

from deskterm import paths
from deskterm.errors import SecretError
from deskterm.secrets import store as secret_store
from deskterm.secrets.store import (
    BackendStatus,
    SecretStore,
    open_secret_store,
    run_password_command,
)

pytestmark = pytest.mark.without_database

FAKE_SECRET = "s3cr3t-FAKE-9c1d-do-not-print"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own desk home, a passphrase, and keyring's `fail` backend unless a test says otherwise.

    Pinning keyring's backend means a developer's real keyring is never written to, and
    XDG_DATA_HOME keeps a plaintext keyring's file (if one were ever written) under tmp_path.
    """
    monkeypatch.setenv("DESKTERM_HOME", str(tmp_path / "desk"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "test passphrase")
    monkeypatch.delenv("DESKTERM_SECRET_BACKEND", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    use_keyring(monkeypatch, fail.Keyring())


def use_keyring(monkeypatch: pytest.MonkeyPatch, backend: KeyringBackend | None) -> None:
    """What keyring.get_keyring() returns (None: let keyring detect it again)."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)


def test_forced_vault_is_used_without_asking_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "vault")

    def no_probe() -> KeyringBackend:
        raise AssertionError("the OS keyring was probed although the vault was forced")

    monkeypatch.setattr(keyring, "get_keyring", no_probe)
    store = open_secret_store()
    assert store.status.kind == "vault"
    assert str(paths.vault_file()) in store.status.reason
    store.set("imap", FAKE_SECRET)
    assert open_secret_store().get("imap") == FAKE_SECRET
    store.delete("imap")
    store.delete("imap")  # absent: no error
    assert store.get("imap") is None
    assert paths.vault_file().exists()


def test_unknown_backend_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "plaintext")
    with pytest.raises(SecretError, match=r"'plaintext'.*keyring or vault"):
        open_secret_store()


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_forced_keyring_without_a_secure_one_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, backend: KeyringBackend
) -> None:
    use_keyring(monkeypatch, backend)
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "keyring")
    name = type(backend).__module__.rpartition(".")[2]
    with pytest.raises(SecretError, match=rf"no secure OS keyring.*{name}\.Keyring.*=vault"):
        open_secret_store()


def test_no_keyring_falls_back_to_the_vault() -> None:
    store = open_secret_store()
    assert store.status == BackendStatus(
        name="vault",
        kind="vault",
        reason=(
            "No secure OS keyring is available (keyring found fail.Keyring); secrets are kept "
            f"in the AES-256-GCM vault at {paths.vault_file()}."
        ),
    )


@pytest.mark.parametrize("how", ["set_keyring", "PYTHON_KEYRING_BACKEND"])
def test_plaintext_keyring_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    if how == "set_keyring":
        use_keyring(monkeypatch, PlaintextKeyring())
    else:
        use_keyring(monkeypatch, None)
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    store = open_secret_store()
    assert store.status.kind == "vault"
    assert "keyrings.alt.file.PlaintextKeyring" in store.status.reason
    store.set("imap", FAKE_SECRET)
    assert store.get("imap") == FAKE_SECRET
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert FAKE_SECRET.encode() not in file.read_bytes(), file

    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "keyring")
    with pytest.raises(SecretError, match="PlaintextKeyring"):
        open_secret_store()


def test_chainer_counts_only_through_secure_members(monkeypatch: pytest.MonkeyPatch) -> None:
    use_keyring(monkeypatch, ChainerBackend())
    monkeypatch.setattr(ChainerBackend, "backends", [PlaintextKeyring()])
    store = open_secret_store()
    assert store.status.kind == "vault"
    assert "chainer.ChainerBackend of keyrings.alt.file.PlaintextKeyring" in store.status.reason

    # A secure member is used directly, so a write never lands in a plaintext member.
    # (Constructing the Secret Service backend does not touch D-Bus; only its calls do.)
    secure = SecretService.Keyring()
    monkeypatch.setattr(ChainerBackend, "backends", [PlaintextKeyring(), secure])
    store = open_secret_store()
    assert store.status.kind == "keyring"
    assert store.status.name == "SecretService.Keyring"
    assert store._backend is secure


def test_unreachable_secret_service_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/deskterm-test-bus")
    use_keyring(monkeypatch, SecretService.Keyring())
    store = open_secret_store()
    assert store.status.name == "SecretService.Keyring"
    for action in (lambda: store.get("imap"), lambda: store.set("imap", FAKE_SECRET)):
        with pytest.raises(SecretError, match=r"^The OS keyring \(SecretService.Keyring\)") as exc:
            action()
        assert FAKE_SECRET not in str(exc.value)
        assert "DESKTERM_SECRET_BACKEND=vault" in str(exc.value)


class HangingKeyring(KeyringBackend):
    """Blocks like a Secret Service waiting on an unlock prompt nobody can see."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only used explicitly by this test")

    def __init__(self) -> None:
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)


@pytest.fixture
def hanging() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    yield backend
    backend.release.set()


def test_a_keyring_that_never_answers_is_a_bounded_error(
    monkeypatch: pytest.MonkeyPatch, hanging: HangingKeyring
) -> None:
    monkeypatch.setattr(secret_store, "KEYRING_TIMEOUT", 0.2)
    store = SecretStore(hanging, BackendStatus(name="Hanging", kind="keyring", reason="test"))
    with pytest.raises(SecretError, match=r"did not answer within 0.2 seconds"):
        store.get("imap")

    use_keyring(monkeypatch, None)
    monkeypatch.setattr(keyring.core, "init_backend", lambda limit=None: hanging.release.wait(30))
    with pytest.raises(SecretError, match=r"did not answer .* while deskterm looked for it"):
        open_secret_store()


def test_repr_shows_no_secret() -> None:
    store = open_secret_store()
    store.set("imap", FAKE_SECRET)
    for text in (repr(store), str(store), repr(store.status), repr(store._backend)):
        assert FAKE_SECRET not in text
    assert repr(store) == "SecretStore(backend='vault', kind='vault')"


# --- password commands -------------------------------------------------------------------

PY = sys.executable


def test_password_command_returns_its_first_line_without_a_shell() -> None:
    assert run_password_command([PY, "-c", "print(' pass word ');print('second')"]) == " pass word "
    assert run_password_command(["echo", "$HOME;", "`id`"]) == "$HOME; `id`"
    # stdin is closed, so a command that reads it sees end-of-file at once.
    assert run_password_command([PY, "-c", "import sys;print(repr(sys.stdin.read()))"]) == "''"


def leaks(exc: SecretError, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Where FAKE_SECRET (printed by the failing command) turned up."""
    places = {
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "log": caplog.text,
    }
    return [where for where, text in places.items() if FAKE_SECRET in text]


def test_failing_password_command_names_program_and_status_but_never_its_output(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    script = f"import sys;print({FAKE_SECRET!r});print({FAKE_SECRET!r},file=sys.stderr);sys.exit(3)"
    with pytest.raises(SecretError) as caught:
        run_password_command([PY, "-c", script, f"--token={FAKE_SECRET}"])
    message = str(caught.value)
    assert message.startswith(f"The password command {PY!r} failed with exit status 3")
    assert "printed an error" in message
    assert leaks(caught.value, caplog) == []


def test_password_command_timeout_never_shows_its_output(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = f"import sys,time;print({FAKE_SECRET!r},flush=True);time.sleep(30)"
    with pytest.raises(SecretError, match=r"did not finish within 0.5 seconds") as caught:
        run_password_command([PY, "-c", script], timeout=0.5)
    assert caught.value.__context__ is None
    assert leaks(caught.value, caplog) == []


def test_missing_password_command() -> None:
    with pytest.raises(SecretError, match="'deskterm-no-such-program' was not found"):
        run_password_command(["deskterm-no-such-program", "show", "mail"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([PY, "-c", "pass"], "exited with status 0 but printed no password"),
        ([PY, "-c", "print();print('x')"], "printed no password"),
        ([PY, "-c", "import sys;sys.stdout.buffer.write(b'\\xff\\n')"], "not UTF-8"),
        ([], "password command is empty"),
        ([str(Path(__file__))], "could not be started"),  # not executable
    ],
)
def test_password_command_without_a_password(argv: list[str], message: str) -> None:
    with pytest.raises(SecretError, match=message):
        run_password_command(argv)
