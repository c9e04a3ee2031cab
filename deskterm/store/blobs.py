"""Files kept beside the database: raw messages and attachments, content-addressed.

Named by the SHA-256 of their bytes, so the same attachment (or the same raw mail fetched
twice) is stored once, a rewrite is harmless, and a crash leaves at worst an unreferenced file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deskterm import paths
from deskterm.errors import DeskError


def _write_once(base: Path, digest: str, suffix: str, data: bytes) -> str:
    relative = f"{digest[:2]}/{digest}{suffix}"
    target = os.path.join(base, relative)
    if not os.path.exists(target):
        directory = os.path.dirname(target)
        _make_dir(directory)
        tmp = f"{target}.{os.getpid()}.tmp"
        with _create_private(tmp) as handle:
            handle.write(data)
        os.replace(tmp, target)
    return relative


_made: set[str] = set()  # directories known to exist: a first sync writes thousands of files


def _make_dir(directory: str) -> None:
    if directory not in _made:
        paths.made_like_parent(Path(directory))
        _made.add(directory)


def _create_private(path: str) -> BinaryIO:
    """A new file for writing, owner-only (0600) whatever the umask: it holds customer mail.
    In a team's shared DESKTERM_BLOB_DIR its group may read it too (paths.file_mode_in)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    mode = paths.file_mode_in(os.path.dirname(path))
    fd = os.open(path, flags, mode)
    if mode != 0o600:
        os.fchmod(fd, mode)  # the umask (077) took the group's read away
    return os.fdopen(fd, "wb")


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
    _make_dir(os.path.dirname(target))
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


@dataclass(frozen=True)
class BlobCopy:
    copied: int
    present: int  # already there (the same name and size: names are contents or unique)


def copy_blobs(shared: Path) -> BlobCopy:
    """Copy the home's raw mail and attachments into a team's shared directory (what
    `DESKTERM_BLOB_DIR` will name), keeping every file's relative path, which is what the
    database refers to. Files already there are left alone, so running it again is harmless."""
    home = paths.home()
    if not shared.is_dir():
        raise DeskError(
            f"{shared} is not a directory; make the directory every machine of the desk shares "
            "and name it again."
        )
    if shared.resolve() == home.resolve():
        return BlobCopy(0, 0)
    copied = present = 0
    for name in ("mail", "attachments"):
        origin = home / name
        if not origin.is_dir():
            continue
        for folder, _, files in os.walk(origin):
            relative = Path(folder).relative_to(home)
            for file in files:
                if file.endswith(".tmp"):  # a write that never finished
                    continue
                target = shared / relative / file
                source = Path(folder) / file
                if target.exists() and target.stat().st_size == source.stat().st_size:
                    present += 1
                    continue
                _make_dir(str(target.parent))
                tmp = f"{target}.{os.getpid()}.tmp"
                with open(source, "rb") as src, _create_private(tmp) as out:
                    shutil.copyfileobj(src, out)
                os.replace(tmp, target)
                copied += 1
    return BlobCopy(copied, present)
