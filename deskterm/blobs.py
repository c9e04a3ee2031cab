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
    target = base / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return relative


def store_raw(raw: bytes) -> str:
    """Keep a message's bytes exactly as fetched; returns the path relative to the mail dir."""
    return _write_once(paths.mail_dir(), hashlib.sha256(raw).hexdigest(), ".eml", raw)


def store_attachment(data: bytes) -> str:
    """Store an attachment once per content; returns its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    _write_once(paths.attachments_dir(), digest, "", data)
    return digest


def raw_path(relative: str) -> Path:
    return paths.mail_dir() / relative


def attachment_path(sha256: str) -> Path:
    return paths.attachments_dir() / sha256[:2] / sha256
