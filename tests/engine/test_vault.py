"""The encrypted vault: what it promises to someone who has the file but not the passphrase."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from secrets import token_urlsafe

import keyring.core
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.errors import PasswordDeleteError

from deskterm import paths
from deskterm.errors import SecretError
from deskterm.secrets.passphrase import weak_passphrase
from deskterm.secrets.vault import VaultKeyring

pytestmark = pytest.mark.without_database

PASSPHRASE = "correct horse battery staple"
SECRET = "hunter2-do-not-leak-7f3a"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own desk home and no passphrase from the developer's environment."""
    monkeypatch.setenv("DESKTERM_HOME", str(tmp_path / "desk"))
    monkeypatch.delenv("DESKTERM_PASSPHRASE", raising=False)


def provider(passphrase: str, calls: list[bool] | None = None) -> Callable[[bool], str]:
    def give(creating: bool) -> str:
        if calls is not None:
            calls.append(creating)
        return passphrase

    return give


def vault(passphrase: str = PASSPHRASE, calls: list[bool] | None = None) -> VaultKeyring:
    return VaultKeyring(passphrase_provider=provider(passphrase, calls))


def test_round_trip() -> None:
    v = vault()
    assert v.get_password("deskterm", "imap") is None
    v.set_password("deskterm", "imap", SECRET)
    v.set_password("deskterm", "smtp", "other")
    assert v.get_password("deskterm", "imap") == SECRET
    v.delete_password("deskterm", "imap")
    assert v.get_password("deskterm", "imap") is None
    assert v.get_password("deskterm", "smtp") == "other"
    with pytest.raises(PasswordDeleteError):
        v.delete_password("deskterm", "imap")


def test_lives_at_the_desk_home_and_persists_across_instances() -> None:
    vault().set_password("deskterm", "imap", SECRET)
    assert paths.vault_file().exists()
    assert vault().get_password("deskterm", "imap") == SECRET


def test_passphrase_is_asked_once_per_object_and_twice_never() -> None:
    calls: list[bool] = []
    v = vault(calls=calls)
    v.get_password("deskterm", "imap")  # no file yet: nothing to unlock
    assert calls == []
    v.set_password("deskterm", "imap", SECRET)
    v.set_password("deskterm", "smtp", SECRET)
    v.get_password("deskterm", "imap")
    assert calls == [True]
    calls.clear()
    other = vault(calls=calls)
    other.get_password("deskterm", "imap")
    other.set_password("deskterm", "pop", SECRET)
    assert calls == [False]


def test_wrong_passphrase_is_a_clear_error_and_leaves_the_file_alone() -> None:
    vault().set_password("deskterm", "imap", SECRET)
    before = paths.vault_file().read_bytes()
    wrong = vault("not the passphrase")
    with pytest.raises(SecretError, match=r"^The vault passphrase is wrong; the vault was left"):
        wrong.get_password("deskterm", "imap")
    with pytest.raises(SecretError, match="passphrase is wrong"):
        wrong.set_password("deskterm", "imap", "overwrite attempt")
    with pytest.raises(SecretError, match="passphrase is wrong"):
        wrong.delete_password("deskterm", "imap")
    assert paths.vault_file().read_bytes() == before


def tamper(edit: Callable[[bytes], bytes]) -> None:
    vault().set_password("deskterm", "imap", SECRET)
    path = paths.vault_file()
    path.write_bytes(edit(path.read_bytes()))


def weaken_kdf(blob: bytes) -> bytes:
    header, _, rest = blob.partition(b"\n")
    fields = json.loads(header)
    fields["kdf"]["n"] = 2**14
    return json.dumps(fields).encode() + b"\n" + rest


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 1]), "passphrase is wrong", id="ciphertext"),
        pytest.param(lambda b: b[:-40], "passphrase is wrong", id="truncated-ciphertext"),
        pytest.param(lambda b: b[: b.index(b"\n") + 5], r"\(it is truncated", id="truncated"),
        pytest.param(lambda b: b"garbage" + b, r"damaged \(its header", id="garbage-header"),
        pytest.param(lambda b: b"", "damaged", id="empty"),
    ],
)
def test_tampering_and_damage_are_detected(edit: Callable[[bytes], bytes], message: str) -> None:
    tamper(edit)
    with pytest.raises(SecretError, match=message):
        vault().get_password("deskterm", "imap")


def test_weakened_kdf_in_header_is_refused_by_the_tag_over_the_header() -> None:
    """The header is the AAD: the ciphertext opens, with the right key, under the header it
    was written with and under no other. A lowered cost is refused (as every changed header
    byte is), not merely because it derives another key."""
    vault().set_password("deskterm", "imap", SECRET)
    path = paths.vault_file()
    written = path.read_bytes()
    header, _, body = written.partition(b"\n")
    nonce, sealed = body[:12], body[12:]
    kdf = json.loads(header)["kdf"]
    salt = base64.b64decode(kdf["salt"])
    key = Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
        PASSPHRASE.encode()
    )
    assert json.loads(AESGCM(key).decrypt(nonce, sealed, header)) == {"deskterm": {"imap": SECRET}}

    path.write_bytes(weaken_kdf(written))
    weakened = path.read_bytes().partition(b"\n")[0]
    assert json.loads(weakened)["kdf"]["n"] == 2**14
    with pytest.raises(InvalidTag):
        AESGCM(key).decrypt(nonce, sealed, weakened)
    with pytest.raises(SecretError, match="passphrase is wrong"):
        vault().get_password("deskterm", "imap")


def test_hostile_kdf_cost_is_refused_before_deriving() -> None:
    """A header asking for 2**30 scrypt blocks would eat gigabytes before the tag is checked."""

    def costly(blob: bytes) -> bytes:
        header, _, rest = blob.partition(b"\n")
        fields = json.loads(header)
        fields["kdf"]["n"] = 2**30
        return json.dumps(fields).encode() + b"\n" + rest

    tamper(costly)
    with pytest.raises(SecretError, match="damaged"):
        vault().get_password("deskterm", "imap")


def test_file_holds_no_plaintext_and_a_new_nonce_each_write() -> None:
    v = vault()
    v.set_password("deskterm-service-name", "imap-user-name", SECRET)
    first = paths.vault_file().read_bytes()
    v.set_password("deskterm-service-name", "imap-user-name", SECRET)
    second = paths.vault_file().read_bytes()
    for blob in (first, second):
        for plain in (SECRET, "deskterm-service-name", "imap-user-name", PASSPHRASE):
            assert plain.encode() not in blob
    header = first.partition(b"\n")[0]
    assert json.loads(header)["kdf"] | {"salt": None} == {
        "name": "scrypt",
        "n": 2**17,  # issue 10: 2**15 was too cheap
        "r": 8,
        "p": 1,
        "salt": None,
    }
    nonce_at = len(header) + 1
    assert first[nonce_at : nonce_at + 12] != second[nonce_at : nonce_at + 12]


def test_file_is_owner_only_and_no_temp_file_is_left() -> None:
    vault().set_password("deskterm", "imap", SECRET)
    path = paths.vault_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_passphrase_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())  # no terminal: the env var must suffice
    monkeypatch.setenv("DESKTERM_PASSPHRASE", PASSPHRASE)
    VaultKeyring().set_password("deskterm", "imap", SECRET)
    assert vault(PASSPHRASE).get_password("deskterm", "imap") == SECRET
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "something else")
    with pytest.raises(SecretError, match="passphrase is wrong"):
        VaultKeyring().get_password("deskterm", "imap")


def test_no_terminal_and_no_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())
    with pytest.raises(SecretError, match=r"no terminal.*set DESKTERM_PASSPHRASE"):
        VaultKeyring().set_password("deskterm", "imap", SECRET)
    assert not paths.vault_file().exists()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def answer_prompts(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """Stand in for getpass on a terminal; returns the prompts shown."""
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr("sys.stdin", FakeTerminal())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    return prompts


def test_terminal_confirms_a_new_passphrase_and_asks_once_to_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompts = answer_prompts(monkeypatch, [PASSPHRASE, PASSPHRASE, PASSPHRASE])
    VaultKeyring().set_password("deskterm", "imap", SECRET)
    assert len(prompts) == 2
    assert VaultKeyring().get_password("deskterm", "imap") == SECRET
    assert len(prompts) == 3


def test_terminal_confirmation_mismatch_creates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_prompts(monkeypatch, [PASSPHRASE, "typo"])
    with pytest.raises(SecretError, match="passphrases differ"):
        VaultKeyring().set_password("deskterm", "imap", SECRET)
    assert not paths.vault_file().exists()


def test_empty_passphrase_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SecretError, match="empty vault passphrase"):
        vault("").set_password("deskterm", "imap", SECRET)
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "")
    with pytest.raises(SecretError, match="empty vault passphrase"):
        VaultKeyring().set_password("deskterm", "imap", SECRET)
    assert not paths.vault_file().exists()


def test_keyring_never_selects_the_vault_itself() -> None:
    assert VaultKeyring.viable is False
    assert not any(isinstance(b, VaultKeyring) for b in keyring.backend.get_all_keyring())
    with pytest.raises(RuntimeError, match="only used when deskterm chooses it"):
        keyring.core.load_keyring("deskterm.secrets.vault.VaultKeyring")
    assert "VaultKeyring(path=" in repr(vault())


# --- issue 10, finding 11: a passphrase worth the name, and a higher scrypt cost -------------

RULE = (
    "A new vault passphrase needs at least 12 characters and must not be one character or a "
    "short pattern repeated, or a run like 123456789012 or abcdefghijkl; choose a longer one, "
    "for example four random words."
)


@pytest.mark.parametrize(
    "weak",
    [
        "x",
        "elevenchars",  # 11
        "aaaaaaaaaaaaaaaaaaaa",
        "abcabcabcabc",
        "passwordPASSWORD",
        "123456789012",
        "890123456789",
        "abcdefghijklmn",
        "ZYXWVUTSRQPO",
    ],
)
def test_a_weak_passphrase_makes_no_vault(weak: str) -> None:
    with pytest.raises(SecretError) as refused:
        vault(weak).set_password("deskterm", "imap", SECRET)
    assert str(refused.value) == RULE
    assert not paths.vault_file().exists()


def test_ordinary_passphrases_pass_the_rule() -> None:
    """The suite's own (conftest: secrets.token_urlsafe(12)) among them."""
    for good in [
        PASSPHRASE,
        "right-horse-42",
        "aaaaaaaaaaab",
        *(token_urlsafe(12) for _ in range(200)),
    ]:
        assert not weak_passphrase(good), good


def test_an_existing_vault_opens_whatever_its_passphrase() -> None:
    """The rule is for new vaults: one made before it keeps opening (and being written)."""
    write_old_vault("short", n=2**17)
    v = vault("short")
    assert v.get_password("deskterm", "imap") == SECRET
    v.set_password("deskterm", "smtp", "other")
    assert vault("short").get_password("deskterm", "smtp") == "other"


def kdf_of(path: Path) -> dict[str, object]:
    return json.loads(path.read_bytes().partition(b"\n")[0])["kdf"]


def write_old_vault(passphrase: str, n: int) -> bytes:
    """A vault as an earlier deskterm wrote it (same format, its scrypt cost), holding SECRET."""
    salt = os.urandom(16)
    header = json.dumps(
        {
            "format": "deskterm-vault",
            "version": 1,
            "kdf": {
                "name": "scrypt",
                "n": n,
                "r": 8,
                "p": 1,
                "salt": base64.b64encode(salt).decode(),
            },
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode())
    nonce = os.urandom(12)
    plaintext = json.dumps({"deskterm": {"imap": SECRET}}).encode()
    blob = header + b"\n" + nonce + AESGCM(key).encrypt(nonce, plaintext, header)
    path = paths.vault_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(blob)
    return blob


def test_an_older_cheaper_vault_opens_and_is_upgraded_when_next_written() -> None:
    old = write_old_vault(PASSPHRASE, n=2**15)
    calls: list[bool] = []
    v = vault(calls=calls)
    assert v.get_password("deskterm", "imap") == SECRET
    assert paths.vault_file().read_bytes() == old  # reading alone writes nothing
    v.set_password("deskterm", "smtp", "other")
    upgraded = kdf_of(paths.vault_file())
    assert upgraded["n"] == 2**17
    assert upgraded["salt"] != kdf_of_bytes(old)["salt"]
    assert v.get_password("deskterm", "smtp") == "other"
    assert calls == [False]  # asked once, as ever: the new key came from that one answer
    fresh = vault()
    assert fresh.get_password("deskterm", "imap") == SECRET
    assert fresh.get_password("deskterm", "smtp") == "other"
    with pytest.raises(SecretError, match="passphrase is wrong"):
        vault("not the passphrase at all").get_password("deskterm", "imap")


def kdf_of_bytes(blob: bytes) -> dict[str, object]:
    return json.loads(blob.partition(b"\n")[0])["kdf"]


def test_unlock_ahead_derives_the_key_once_in_the_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`deskterm poll` starts the derivation before it imports and connects; the first read
    then uses that key instead of deriving again, and a wrong passphrase is still refused."""
    vault(PASSPHRASE).set_password("deskterm", "k", "secret")
    from deskterm.secrets import vault as module

    derived: list[int] = []
    real = module._Kdf.derive
    monkeypatch.setattr(module._Kdf, "derive", lambda self, p: derived.append(1) or real(self, p))
    monkeypatch.setenv("DESKTERM_PASSPHRASE", PASSPHRASE)
    ahead = VaultKeyring(paths.vault_file())
    ahead.unlock_ahead()
    assert ahead.get_password("deskterm", "k") == "secret"
    assert ahead.get_password("deskterm", "k") == "secret"
    assert derived == [1]
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "a-wrong-but-long-passphrase")
    wrong = VaultKeyring(paths.vault_file())
    wrong.unlock_ahead()
    with pytest.raises(SecretError, match="passphrase is wrong"):
        wrong.get_password("deskterm", "k")


def test_the_passphrase_is_asked_before_a_write_takes_its_turn() -> None:
    """A person at the prompt must not hold up the other writers (a worker storing the refresh
    token its provider just rotated): the turn is free while an existing vault's passphrase
    is asked for, and the write then uses the key without asking again."""
    vault().set_password("deskterm", "k", "one")
    from deskterm.secrets import vault as module

    free: list[bool] = []

    def give(creating: bool) -> str:
        took = module._WRITERS.acquire(blocking=False)
        if took:
            module._WRITERS.release()
        free.append(took)
        return PASSPHRASE

    VaultKeyring(passphrase_provider=give).set_password("deskterm", "k", "two")
    assert free == [True]
    assert vault().get_password("deskterm", "k") == "two"


def test_ready_to_write_asks_now_what_the_next_write_would_ask() -> None:
    """What `channel auth` relies on: everything a write would ask is asked before the sign-in
    obtains a refresh token it cannot obtain again."""
    calls: list[bool] = []
    new = vault(calls=calls)
    new.ready_to_write()  # no vault yet: made now, empty, with a new passphrase
    assert calls == [True] and paths.vault_file().exists()
    new.set_password("deskterm", "token", SECRET)
    assert calls == [True]  # the write asked nothing

    calls.clear()
    existing = vault(calls=calls)
    existing.ready_to_write()  # unlocked now
    assert calls == [False]
    existing.set_password("deskterm", "other", "x")
    assert calls == [False] and existing.get_password("deskterm", "token") == SECRET

    with pytest.raises(SecretError, match="needs at least 12"):
        weak = VaultKeyring(paths.home() / "weak.bin", provider("short"))
        weak.ready_to_write()
    assert not (paths.home() / "weak.bin").exists()
