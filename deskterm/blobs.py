"""Files kept beside the database: raw messages and attachments, content-addressed.

Named by the SHA-256 of their bytes, so the same attachment (or the same raw mail fetched
twice) is stored once, a rewrite is harmless, and a crash leaves at worst an unreferenced file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from deskterm import paths


def _write_once(base: Path, digest: str, suffix: str, data: bytes) -> str:
    relative = f"{digest[:2]}/{digest}{suffix}"
    target = os.path.join(base, relative)
    if not os.path.exists(target):
        directory = os.path.dirname(target)
        if directory not in _made:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            _made.add(directory)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return relative


_made: set[str] = set()  # directories known to exist: a first sync writes thousands of files


def store_raw(raw: bytes, base: Path | None = None) -> str:
    """Keep a message's bytes exactly as fetched; returns the path relative to the mail dir.

    `base` is passed by worker processes, whose environment may predate DESKTERM_HOME.
    """
    base = base or paths.mail_dir()
    return _write_once(base, hashlib.sha256(raw).hexdigest(), ".eml", raw)


def store_attachment(data: bytes, base: Path | None = None) -> str:
    """Store an attachment once per content; returns its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    _write_once(base or paths.attachments_dir(), digest, "", data)
    return digest


def raw_path(relative: str) -> Path:
    return paths.mail_dir() / relative


def attachment_path(sha256: str) -> Path:
    return paths.attachments_dir() / sha256[:2] / sha256
