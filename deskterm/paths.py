"""Where a desk keeps its files.

One place decides, so that `DESKTERM_HOME` really moves everything (database, raw mail,
attachments, vault, config), which is what tests and multi-desk users rely on.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    """The desk's home directory, created on first use with owner-only permissions."""
    override = os.environ.get("DESKTERM_HOME")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir("deskterm"))
    return _made(path)


def database_file() -> Path:
    return home() / "desk.sqlite3"


def vault_file() -> Path:
    return home() / "vault.bin"


def mail_dir() -> Path:
    """Raw .eml files, kept whole whatever the parser made of them."""
    return _subdir("mail")


def attachments_dir() -> Path:
    """Attachments stored content-addressed by sha256."""
    return _subdir("attachments")


def _subdir(name: str) -> Path:
    return _made(home() / name)


_existing: set[Path] = set()


def _made(path: Path) -> Path:
    """Create a directory once per process: the ingest path asks for it per message."""
    if path not in _existing:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        _existing.add(path)
    return path
