"""The vault's passphrase as a systemd credential (`LoadCredential=deskterm-passphrase:FILE`):
how a service unlocks the vault with no passphrase in its unit, environment or argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskterm.errors import SecretError
from deskterm.secrets.passphrase import given_passphrase
from deskterm.secrets.vault import VaultKeyring

pytestmark = pytest.mark.without_database

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$CREDENTIALS_DIRECTORY as systemd sets it, and no DESKTERM_PASSPHRASE."""
    folder = tmp_path / "credentials"
    folder.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    monkeypatch.delenv("DESKTERM_PASSPHRASE", raising=False)
    return folder


def test_the_credential_unlocks_a_vault_made_with_its_passphrase(
    credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_PASSPHRASE", PASSPHRASE)
    VaultKeyring().set_password("deskterm", "imap", "secret-1")
    monkeypatch.delenv("DESKTERM_PASSPHRASE")
    (credentials / "deskterm-passphrase").write_text(PASSPHRASE + "\n")  # as `echo` writes it
    vault = VaultKeyring()
    vault.unlock_ahead()  # the key is derived ahead from the credential too
    assert vault.get_password("deskterm", "imap") == "secret-1"


def test_the_environment_comes_before_the_credential(
    credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (credentials / "deskterm-passphrase").write_text("from the credential")
    assert given_passphrase() == "from the credential"
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "from the environment")
    assert given_passphrase() == "from the environment"


def test_without_the_credential_nothing_is_given(credentials: Path) -> None:
    assert given_passphrase() is None
    with pytest.raises(SecretError, match="deskterm-passphrase credential"):
        VaultKeyring(path=credentials.parent / "vault.bin").set_password("deskterm", "x", "y")


def test_an_unreadable_credential_is_one_sentence(credentials: Path) -> None:
    (credentials / "deskterm-passphrase").mkdir()  # not a file
    with pytest.raises(SecretError, match="cannot be read") as caught:
        given_passphrase()
    assert "LoadCredential=" in str(caught.value)
