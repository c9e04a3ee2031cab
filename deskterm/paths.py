"""Where a desk keeps its files.

One place decides, so that `DESKTERM_HOME` really moves everything (database, raw mail,
attachments, vault, config), which is what tests and multi-desk users rely on.

The home holds customer mail and the vault, so it is its owner's alone: made 0700, and an
existing one that other users can read, write or enter is refused rather than silently
chmod-ed (its owner may share it on purpose, and then should decide, not deskterm). Files in it
are made 0600 where they are created (see `private_file`, blobs, vault, drafts) and, for the
`deskterm` command, by the process-wide umask of `process.harden_process`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

import platformdirs

from deskterm import settings
from deskterm.errors import ConfigError


def home() -> Path:
    """The desk's home directory, created on first use with owner-only permissions."""
    path = home_location()
    if path not in _existing:
        if path.is_dir():
            _refuse_shared(path)
        else:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.chmod(0o700)  # mkdir's mode is masked by the umask; this one is not
        _existing.add(path)
    return path


def home_location() -> Path:
    """Where the desk's home is (DESKTERM_HOME or the platform's data dir), without making it."""
    return settings.current().home or Path(platformdirs.user_data_dir("deskterm"))


DATABASE_NAME = "desk.sqlite3"  # the embedded desk's file in the home


def database_file() -> Path:
    return home() / DATABASE_NAME


def vault_file() -> Path:
    return home() / "vault.bin"


def mail_dir() -> Path:
    """Raw .eml files, kept whole whatever the parser made of them."""
    return made_like_parent(blob_root() / "mail")


def attachments_dir() -> Path:
    """Attachments stored content-addressed by sha256."""
    return made_like_parent(blob_root() / "attachments")


def blob_root() -> Path:
    """Where raw mail and attachments live: the home, or for a team the directory every
    machine shares, `DESKTERM_BLOB_DIR`. That one may be shared with a group (its owner decides,
    and what deskterm makes in it takes its group's permissions), never with everyone."""
    shared = settings.current().blob_dir
    if shared is None:
        return home()
    if shared not in _existing:
        if not shared.is_dir():
            raise ConfigError(
                f"DESKTERM_BLOB_DIR is {shared}, which is not a directory; make it (shared by "
                "every machine of the desk) or unset DESKTERM_BLOB_DIR."
            )
        if os.name == "posix" and shared.stat().st_mode & 0o007:
            raise ConfigError(
                f"DESKTERM_BLOB_DIR {shared} can be used by every user; take that away with "
                f"`chmod -R o-rwx {shared}` and run deskterm again."
            )
        _existing.add(shared)
    return shared


def made_like_parent(path: Path) -> Path:
    """A directory made once per process with its parent's group permissions (and set-group-ID
    bit), never any for others: owner-only in the home (0700), and in a team's
    DESKTERM_BLOB_DIR the group's, so every agent's account can read what the worker wrote.
    The process's umask (077) would drop them, hence the chmod."""
    if path not in _existing:
        if not path.is_dir():
            parent = made_like_parent(path.parent) if not path.parent.is_dir() else path.parent
            inherited = parent.stat().st_mode & (0o070 | stat.S_ISGID)
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:
                pass
            else:
                path.chmod(0o700 | inherited)
        _existing.add(path)
    return path


def file_mode_in(directory: Path | str) -> int:
    """A new file's mode in `directory`: the owner's, and group read where the directory's
    group may read it (a shared DESKTERM_BLOB_DIR); 0600 in the home."""
    return 0o600 | (os.stat(directory).st_mode & 0o040)


def private_file(path: Path | str) -> None:
    """Create `path` empty and owner-only (0600) if it is missing, and take group and other
    permissions off it if it exists: for files another library creates with its own mode
    (SQLite uses 0644 and gives its -wal/-shm/-journal files the mode of the database file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        if os.name == "posix":
            mode = os.fstat(fd).st_mode & 0o777
            if mode & 0o077:
                os.fchmod(fd, mode & 0o700)
    finally:
        os.close(fd)


def replace_private(target: Path, data: bytes) -> None:
    """Write `target` whole (0600) or not at all: a temporary file beside it, flushed to disk,
    then moved into place, so a crash or a full disk leaves the old file or the new one, never
    half of either. OSError when it cannot be written (the old file is then untouched)."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")  # 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the rename must never expose an empty file
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _refuse_shared(path: Path) -> None:
    """One sentence saying how to make a home others can use private (POSIX modes only)."""
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigError(
            f"The desk's home {path} can be used by other users; make it private with "
            f"`chmod -R go-rwx {path}` and run deskterm again."
        )


_existing: set[Path] = set()  # directories known to exist: the ingest path asks per message
