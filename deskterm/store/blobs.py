"""Files kept beside the database: raw messages and attachments, content-addressed.

Named by the SHA-256 of their bytes, so the same attachment (or the same raw mail fetched
twice) is stored once, a rewrite is harmless, and a crash leaves at worst an unreferenced file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO

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
        with _create_private(tmp) as handle:
            handle.write(data)
        os.replace(tmp, target)
    return relative


_made: set[str] = set()  # directories known to exist: a first sync writes thousands of files


def _create_private(path: str) -> BinaryIO:
    """A new file for writing, owner-only (0600) whatever the umask: it holds customer mail."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    return os.fdopen(os.open(path, flags, 0o600), "wb")


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


def store_pack(raws: list[bytes], base: Path | None = None) -> list[str]:
    """Many fetched messages in one file, each exactly as fetched; returns one ref each.

    A first sync of 10,000 messages would otherwise create 10,000 files, and creating a file
    costs more here than writing its bytes. A ref is `packs/<name>.pack#<offset>+<length>`.
    """
    base = base or paths.mail_dir()
    name = f"packs/{uuid.uuid4().hex}.pack"
    target = os.path.join(base, name)
    directory = os.path.dirname(target)
    if directory not in _made:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        _made.add(directory)
    refs = []
    offset = 0
    tmp = f"{target}.tmp"
    with _create_private(tmp) as handle:
        for raw in raws:
            handle.write(raw)
            refs.append(f"{name}#{offset}+{len(raw)}")
            offset += len(raw)
    os.replace(tmp, target)
    return refs


def _locate(ref: str) -> tuple[Path, int | None, int | None]:
    """(file, offset, length) of a ref; no span for a file of its own. ValueError if bad."""
    name, _, span = ref.partition("#")
    path = paths.mail_dir() / name
    if not span:
        return path, None, None
    offset, _, length = span.partition("+")
    return path, int(offset), int(length)


def read_raw(ref: str) -> bytes:
    """The raw bytes behind a ref from `store_raw` or `store_pack`."""
    path, offset, length = _locate(ref)
    if offset is None or length is None:
        return path.read_bytes()
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def describe_raw(ref: str) -> str:
    """Where a ref's bytes are, for a person: the file, and the span inside a pack file."""
    path, offset, length = _locate(ref)
    if offset is None or length is None:
        return str(path)
    return f"{path}, bytes {offset} to {offset + length}"


def attachment_path(sha256: str) -> Path:
    return paths.attachments_dir() / sha256[:2] / sha256
