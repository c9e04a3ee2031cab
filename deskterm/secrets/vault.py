"""An encrypted file of secrets, for machines with no secure OS keyring (SSH servers, CI).

It is a `keyring` backend so the rest of deskterm talks to one interface whichever store is
used, but keyring itself never picks it: deskterm chooses it explicitly (see secret_store).

File layout, chosen so that every byte that matters is authenticated:

    <header JSON, one line> b"\\n" <12-byte nonce> <AES-256-GCM ciphertext + 16-byte tag>

The header names the format version and the KDF (scrypt, its n/r/p and a random 16-byte salt).
It is the AAD of the encryption, so nobody can lower the KDF cost (or swap the salt) without
decryption failing. The plaintext is JSON: {service: {username: secret}}.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from deskterm import paths
from deskterm.errors import SecretError
from deskterm.secrets.passphrase import (
    PASSPHRASE_RULE,
    PassphraseProvider,
    default_passphrase_provider,
    given_passphrase,
    weak_passphrase,
)

try:
    import fcntl
except ImportError:  # Windows: only the writers of this process take turns
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
# scrypt cost for new vaults, and for older ones when they are next written: 128 MiB of memory
# and about 0.27 s per unlock on the 2-core machine class (2**15 was 0.06 s). Every process
# that reads a secret pays it once, so this is the most a `deskterm poll` start can afford.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
# Bounds accepted when reading: the header is only authenticated after the key is derived,
# so a hostile header must not make us spend unbounded memory or time first (2**18 * 8 * 128
# bytes = 256 MiB at most).
MIN_N, MAX_N, MAX_R, MAX_P = 2**14, 2**18, 8, 4


@dataclass(frozen=True)
class _Kdf:
    """scrypt parameters as stored in (and authenticated by) the header."""

    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def derive(self, passphrase: str) -> bytes:
        kdf = Scrypt(salt=self.salt, length=KEY_BYTES, n=self.n, r=self.r, p=self.p)
        return kdf.derive(passphrase.encode("utf-8"))

    def cheaper_than_today(self) -> bool:
        return self.n < SCRYPT_N or self.r < SCRYPT_R or self.p < SCRYPT_P

    def header(self) -> bytes:
        fields = {
            "format": "deskterm-vault",
            "version": FORMAT_VERSION,
            "kdf": {
                "name": "scrypt",
                "n": self.n,
                "r": self.r,
                "p": self.p,
                "salt": base64.b64encode(self.salt).decode("ascii"),
            },
        }
        return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode("ascii")

    @classmethod
    def from_header(cls, header: bytes) -> _Kdf:
        """Parse a header, refusing anything but a sane version-1 scrypt one (ValueError)."""
        fields = json.loads(header)
        if fields.get("format") != "deskterm-vault" or fields.get("version") != FORMAT_VERSION:
            raise ValueError("unknown format or version")
        kdf = fields["kdf"]
        salt = base64.b64decode(kdf["salt"], validate=True)
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        if kdf["name"] != "scrypt" or len(salt) != SALT_BYTES:
            raise ValueError("unknown KDF")
        if not all(type(v) is int for v in (n, r, p)):
            raise ValueError("KDF parameters are not integers")
        if not (MIN_N <= n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
            raise ValueError("KDF parameters out of bounds")
        return cls(salt=salt, n=n, r=r, p=p)


Secrets = dict[str, dict[str, str]]


class _Derivation:
    """A key derived in a daemon thread (scrypt releases the GIL), so the caller goes on
    meanwhile: the upgrade key of an older vault (a new salt at today's cost), or the key a
    `deskterm poll` derives while it imports its modules and opens the desk."""

    def __init__(self, kdf: _Kdf, passphrase: str) -> None:
        self.kdf = kdf
        self._key: bytes | None = None
        self._thread = threading.Thread(
            target=self._derive, args=(passphrase,), name="deskterm-vault-key", daemon=True
        )
        self._thread.start()

    def _derive(self, passphrase: str) -> None:
        self._key = self.kdf.derive(passphrase)

    def key(self) -> bytes:
        self._thread.join()
        if self._key is None:  # the derivation failed (out of memory): say so, change nothing
            raise SecretError(
                "The vault key could not be derived (scrypt failed); free some memory and try "
                "again."
            )
        return self._key


_WRITERS = threading.Lock()  # see VaultKeyring._one_writer


class VaultKeyring(KeyringBackend):
    """A keyring backend over one passphrase-encrypted file.

    The key, not the passphrase, is kept in the object once derived, so the passphrase is asked
    for once per object: open one store per run. Every read goes back to the file, so changes
    made by another process are seen; writes are atomic, and each read-modify-write takes its
    turn (`_one_writer`), so a secret another thread or process wrote meanwhile (a refresh
    token its provider just rotated) is never overwritten by an older copy of the file.
    """

    def __init__(
        self,
        path: Path | None = None,
        passphrase_provider: PassphraseProvider | None = None,
    ) -> None:
        # KeyringBackend.__init__ is deliberately not called: it copies every KEYRING_PROPERTY_*
        # environment variable onto the object, which must not be able to redirect the vault.
        self.path = path if path is not None else paths.vault_file()
        self._provider = passphrase_provider or default_passphrase_provider
        self._cached: tuple[_Kdf, bytes] | None = None
        # For a vault made at a lower cost: its key at today's cost, derived in the background
        # when it is unlocked (scrypt releases the GIL), used when it is next written.
        self._upgrade: _Derivation | None = None
        self._ahead: _Derivation | None = None  # see unlock_ahead

    @properties.classproperty
    def priority(cls) -> float:
        """Not viable for keyring's own selection: keyring skips backends whose priority raises."""
        raise RuntimeError("deskterm's vault is only used when deskterm chooses it explicitly")

    def __repr__(self) -> str:
        # KeyringBackend.__str__ reads priority, which raises here.
        return f"VaultKeyring(path={str(self.path)!r})"

    __str__ = __repr__

    def get_password(self, service: str, username: str) -> str | None:
        """The secret, or None; a missing vault file holds nothing and needs no passphrase."""
        loaded = self._load()
        return None if loaded is None else loaded[2].get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._unlock()
        with self._one_writer():
            self._set(service, username, password)

    def _set(self, service: str, username: str, password: str) -> None:
        kdf, key, secrets = self._load() or self._new()
        secrets.setdefault(service, {})[username] = password
        self._save(kdf, key, secrets)

    def ready_to_write(self) -> None:
        """Unlock the vault, or make it (empty) when there is none, so that the next write asks
        nothing. A secret that cannot be had twice, such as the refresh token of a sign-in the
        person already approved, must not be lost to a missing or mistyped passphrase."""
        self._unlock()
        if self._cached is None:
            with self._one_writer():
                if self._load() is None:
                    self._save(*self._new())

    def _new(self) -> tuple[_Kdf, bytes, Secrets]:
        """A new vault's key, from a new passphrase held to PASSPHRASE_RULE; nothing in it."""
        kdf = _Kdf(salt=os.urandom(SALT_BYTES))
        passphrase = self._passphrase(creating=True)
        if weak_passphrase(passphrase):
            raise SecretError(PASSPHRASE_RULE)
        key = kdf.derive(passphrase)
        self._cached = (kdf, key)
        return kdf, key, {}

    def delete_password(self, service: str, username: str) -> None:
        """Remove a secret; like every keyring backend, PasswordDeleteError when it is absent."""
        self._unlock()
        with self._one_writer():
            self._delete(service, username)

    def _delete(self, service: str, username: str) -> None:
        loaded = self._load()
        if loaded is None or username not in loaded[2].get(service, {}):
            raise PasswordDeleteError("No such secret in the vault.")
        kdf, key, secrets = loaded
        del secrets[service][username]
        if not secrets[service]:
            del secrets[service]
        self._save(kdf, key, secrets)

    def unlock_ahead(self) -> None:
        """Start deriving the key now, when the passphrase needs no asking (given_passphrase).

        At today's cost the key takes about 0.27 s; a `deskterm poll` that starts it before it
        imports its modules, opens the desk and connects has it ready by the time it needs a
        password, instead of adding it to every run. Anything unusual (no file, a damaged
        header, a passphrase to ask for) is left for the first read to report in its words.
        """
        if self._provider is not default_passphrase_provider:
            return
        try:
            passphrase = given_passphrase()
        except SecretError:
            return  # the first read says so
        if not passphrase:
            return
        if self._cached is not None or self._ahead is not None:
            return
        try:
            with self.path.open("rb") as vault:
                kdf = _Kdf.from_header(vault.readline().rstrip(b"\n"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        self._ahead = _Derivation(kdf, passphrase)

    def _unlock(self) -> None:
        """Ask for the passphrase and derive the key before a write takes its turn: a person
        at the prompt (or scrypt) must not hold up the other writers, such as a worker storing
        the refresh token its provider just rotated. Only a vault still to be made asks in
        its turn."""
        if self._cached is None:
            self._load()

    @contextlib.contextmanager
    def _one_writer(self) -> Iterator[None]:
        """One read-modify-write of the vault at a time: this process's threads take turns by
        a lock, processes by an advisory lock on the vault's folder (no lock file is left)."""
        with _WRITERS:
            if fcntl is None:
                yield
                return
            directory = self.path.parent
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(directory, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _passphrase(self, creating: bool) -> str:
        passphrase = self._provider(creating)
        if not passphrase:
            raise SecretError("An empty vault passphrase is not allowed; give a non-empty one.")
        return passphrase

    def _damaged(self, what: str) -> SecretError:
        return SecretError(
            f"The vault {self.path} is damaged ({what}); restore it from a backup, "
            f"or move it aside to start a new vault."
        )

    def _load(self) -> tuple[_Kdf, bytes, Secrets] | None:
        """Read and decrypt the vault: (kdf, key, secrets), or None when there is no file yet."""
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretError(
                f"The vault {self.path} cannot be read ({exc.strerror}); check its permissions."
            ) from None
        header, newline, body = blob.partition(b"\n")
        try:
            kdf = _Kdf.from_header(header)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._damaged("its header is unreadable") from None
        if not newline or len(body) < NONCE_BYTES + TAG_BYTES:
            raise self._damaged("it is truncated")
        passphrase = None
        if self._cached is not None and self._cached[0] == kdf:
            key = self._cached[1]
        elif self._upgrade is not None and self._upgrade.kdf == kdf:  # we upgraded it
            key = self._upgrade.key()
        elif self._ahead is not None and self._ahead.kdf == kdf:
            key, self._ahead = self._ahead.key(), None
            if kdf.cheaper_than_today():
                passphrase = self._passphrase(creating=False)  # the environment's, not asked
        else:
            passphrase = self._passphrase(creating=False)
            key = kdf.derive(passphrase)
        try:
            plaintext = AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header)
        except InvalidTag:
            self._cached = None
            raise SecretError(
                f"The vault passphrase is wrong; the vault was left unchanged: try again with the "
                f"right one (if you are sure it is right, {self.path} was altered or damaged, "
                f"so restore it from a backup)."
            ) from None
        self._cached = (kdf, key)
        if passphrase is not None and kdf.cheaper_than_today() and self._upgrade is None:
            self._upgrade = _Derivation(_Kdf(salt=os.urandom(SALT_BYTES)), passphrase)
        try:
            secrets = json.loads(plaintext)
        except ValueError:
            raise self._damaged("its content is not JSON") from None
        if not isinstance(secrets, dict) or not all(
            isinstance(users, dict) and all(isinstance(v, str) for v in users.values())
            for users in secrets.values()
        ):
            raise self._damaged("its content is not a table of secrets")
        return kdf, key, secrets

    def _save(self, kdf: _Kdf, key: bytes, secrets: Secrets) -> None:
        """Encrypt under a fresh nonce and replace the file atomically, owner-only; a vault
        made at a lower cost is written at today's (with a new salt)."""
        if kdf.cheaper_than_today() and self._upgrade is not None:
            kdf, key = self._upgrade.kdf, self._upgrade.key()
            self._cached = (kdf, key)
        header = kdf.header()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, json.dumps(secrets).encode("utf-8"), header)
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp creates the file with mode 0600, so the secret is never readable by others.
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".vault-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(header + b"\n" + nonce + ciphertext)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise SecretError(
                f"The vault {self.path} could not be written ({exc.strerror}); "
                f"check the disk space and the folder's permissions."
            ) from None
        if os.name == "posix":  # make the rename itself durable (Windows cannot open folders)
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
