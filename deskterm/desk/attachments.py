"""Getting an attachment out of the desk: saved to a path, or handed to the system's opener.

A filename comes from a mail, so before it touches the filesystem it is made a plain name:
no directory parts, no `..`, no control or bidi characters, not hidden, not too long. The
agent may then type any path they like (that is their choice, not the sender's); an existing
file is never replaced unless the caller says the agent confirmed it.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from deskterm import paths
from deskterm.errors import ConfigError, DeskError, NotFound
from deskterm.process import child_env
from deskterm.sanitize import one_line
from deskterm.store import blobs
from deskterm.store.models import Attachment, Message

FALLBACK_NAME = "attachment"
MAX_NAME_BYTES = 200  # under every common filesystem's 255-byte limit, with room to spare
OPENERS = ("xdg-open", "open")  # freedesktop, macOS
NO_OPENER = "There is no system opener (xdg-open or open) on this computer."


class FileExists(DeskError):
    """The target file is there already and overwriting was not confirmed."""


@dataclass(frozen=True)
class StoredAttachment:
    message_index: int  # position of its message in the thread (oldest first, as shown)
    filename: str  # as the mail named it: untrusted, clean it before showing
    content_type: str
    size: int
    sha256: str


def thread_message_ids(conversation_id: int) -> list[int]:
    """The conversation's message ids in the order the thread shows them (arrival)."""
    return [
        m
        for (m,) in Message.select(Message.id)
        .where(Message.conversation == conversation_id)
        .order_by(Message.id)
        .tuples()
    ]


def of_conversation(conversation_id: int) -> list[StoredAttachment]:
    """A conversation's attachments in the order the thread shows them."""
    message_ids = thread_message_ids(conversation_id)
    index = {message_id: i for i, message_id in enumerate(message_ids)}
    rows = (
        Attachment.select()
        .where(Attachment.message.in_(message_ids))
        .order_by(Attachment.message, Attachment.id)
    )
    return [
        StoredAttachment(index[a.message_id], a.filename, a.content_type, a.size, a.sha256)
        for a in rows
    ]


# Names Windows reserves for devices, with or without an extension (`con.txt` opens the
# console): a desk's Downloads may be a shared folder a Windows machine reads.
_DEVICE_NAME = re.compile(r"(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])", re.I)


def safe_filename(name: str) -> str:
    """A mail's filename made safe as one plain file name in a directory of our choosing.

    Invisible characters go (sanitize.one_line: format, tag and filler characters, so
    `invoice.pdf<U+3164 x 40>.desktop` cannot hide its real extension), blank runs become one
    space for the same reason, and a Windows device name gets a `_` in front.
    """
    name = one_line(name or "").replace("\u2800", " ")  # the braille blank is a blank here
    name = " ".join(name.split())
    name = re.sub(r'[/\\:\x00<>"|?*]', "_", name)  # no directory parts or reserved characters
    name = re.sub(r"\.{2,}", ".", name)  # no `..`
    name = name.strip().lstrip(".").strip()  # not hidden, no leading or trailing blanks
    name = name.rstrip(". ")  # Windows drops trailing dots and blanks: `a.exe.` is `a.exe`
    if not name:
        return FALLBACK_NAME
    if _DEVICE_NAME.fullmatch(name.split(".", 1)[0].rstrip()):
        name = f"_{name}"
    return _shortened(name)


def _shortened(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 20:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    cut = stem.encode()[:budget].decode(errors="ignore").rstrip()
    return f"{cut}{suffix}"


def download_dir() -> Path:
    """Where a saved attachment goes unless the agent types another place.

    The XDG download directory (`$XDG_DOWNLOAD_DIR` or user-dirs.dirs, as `xdg-user-dir
    DOWNLOAD` reads it, through platformdirs), else ~/Downloads, else the home directory:
    never the working directory, which is wherever the app happened to be started.
    """
    home = Path.home()
    for candidate in (Path(platformdirs.user_downloads_dir()), home / "Downloads"):
        if candidate.is_dir():
            return candidate
    return home


def default_save_path(filename: str) -> Path:
    """The download directory (see `download_dir`) and the attachment's safe name."""
    return download_dir() / safe_filename(filename)


def blob_path(sha256: str) -> Path:
    path = blobs.attachment_path(sha256)
    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not path.is_file():
        raise NotFound("This attachment's file is missing from the desk's storage.")
    return path


def save(sha256: str, target: str | Path, overwrite: bool = False) -> Path:
    """Copy the stored attachment to `target` (`~` expanded); returns the path written.

    Refuses (FileExists) to replace an existing file unless `overwrite`; a directory as the
    target is always refused. The file appears whole or not at all.
    """
    if not str(target).strip():
        raise ConfigError("Give a path to save the attachment to.")
    source = blob_path(sha256)
    path = Path(os.path.expanduser(str(target).strip()))
    if path.is_dir():
        raise ConfigError(f"{one_line(str(path))} is a directory; give a file name in it.")
    if path.exists() and not overwrite:
        raise FileExists(f"{one_line(str(path))} exists already.")
    if not path.parent.is_dir():
        raise ConfigError(f"There is no directory {one_line(str(path.parent))}.")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".deskterm-", dir=path.parent)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the file appeared meanwhile: never clobbered
    except FileExistsError:
        raise FileExists(f"{one_line(str(path))} exists already.") from None
    except OSError as exc:
        raise ConfigError(
            f"Could not write {one_line(str(path))}: {exc.strerror or exc}."
        ) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def system_opener() -> str | None:
    for name in OPENERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def required_opener() -> str:
    """The system opener, or a ConfigError saying there is none."""
    opener = system_opener()
    if opener is None:
        raise ConfigError(NO_OPENER)
    return opener


def open_with_system(sha256: str, filename: str) -> Path:
    """Copy the attachment to a private temporary directory under its safe name (so the
    opener sees its extension) and start the system opener on it, detached, without a shell.

    The copy lives in this process's directory under the desk's home (see `opened_dir`),
    which is removed when the process exits; one left by a process that died is removed by
    the next one that opens an attachment.
    """
    opener = required_opener()
    path = save(sha256, private_dir() / safe_filename(filename))
    launch(opener, str(path))
    return path


def launch(opener: str, target: str) -> None:
    """Start the system opener on one file or URL, detached, without a shell."""
    subprocess.Popen(  # no shell: a list of arguments, one target
        [opener, target],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env=child_env(),  # the opener and what it starts get none of deskterm's secrets
    )


# --------------------------------------------------------------------------- opened copies
#
# xdg-open and open return as soon as they have handed the file on, so there is no moment at
# which the viewer is known to be done with it. The copies therefore live, one directory per
# process, in the desk's private home (next to the attachment store that holds the same bytes,
# so a copy that lingers exposes nothing new) and go when that process exits; a viewer that
# still has the file open keeps reading it (the inode lives on), and a process that crashed
# leaves a directory the next process that opens an attachment removes.

OPENED_DIRNAME = "opened"
_own: Path | None = None


def opened_dir() -> Path:
    """Where the temporary copies of opened attachments live: <home>/opened/<pid>/..."""
    path = paths.home() / OPENED_DIRNAME
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def remove_opened_copies() -> None:
    """Remove this process's copies (registered with atexit on the first open)."""
    global _own
    if _own is not None:
        shutil.rmtree(_own, ignore_errors=True)
        _own = None


def sweep_opened_copies() -> int:
    """Remove the copies of processes that are gone; returns how many directories went."""
    removed = 0
    try:
        entries = list(opened_dir().iterdir())
    except OSError:
        return 0
    for entry in entries:
        if entry == _own or (entry.name.isdigit() and _alive(int(entry.name))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a name we did not make: leave it
    return True


def private_dir() -> Path:
    """A new directory (0700) for one opened copy, in this process's `opened` directory."""
    return Path(tempfile.mkdtemp(dir=_own_opened_dir()))


def _own_opened_dir() -> Path:
    """This process's directory, made on first use, after sweeping what dead ones left."""
    global _own
    if _own is None or not _own.is_dir():
        sweep_opened_copies()
        own = opened_dir() / str(os.getpid())
        own.mkdir(mode=0o700, exist_ok=True)
        if _own is None:
            atexit.register(remove_opened_copies)
        _own = own
    return _own
