"""The `$EDITOR` hand-off: the reply in the agent's own editor (the UI only suspends the
terminal around it)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from deskterm.errors import DeskError
from deskterm.outbound.drafts import drafts_dir
from deskterm.process import child_env
from deskterm.sanitize import clean

# Debian's `editor` alternative is what the admin chose; then the usual suspects.
FALLBACK_EDITORS = ("editor", "nano", "vi")


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """$VISUAL, then $EDITOR (split like a shell would: "code --wait"), then a fallback."""
    env = os.environ if environ is None else environ
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            try:
                command = shlex.split(value)
            except ValueError:
                raise DeskError(
                    f"${name} ({value!r}) is not a command deskterm can split; fix its quotes."
                ) from None
            if command:
                return command
    for fallback in FALLBACK_EDITORS:
        found = shutil.which(fallback, path=env.get("PATH"))
        if found:
            return [found]
    raise DeskError(
        "No editor was found; set $EDITOR (for example `export EDITOR=nano`) or install nano or vi."
    )


def edit_externally(
    text: str,
    conversation_id: int,
    *,
    command: list[str] | None = None,
    run: Callable[[list[str]], int] | None = None,
) -> str:
    """Hand the text to the agent's editor and return what they saved.

    The file lives in the drafts folder (owner-only) and is removed afterwards; the caller
    must have saved the draft first and keeps it when this raises, so a crashed or killed
    editor costs nothing. The caller suspends the terminal around this call. The editor gets
    `child_env()`: it is the agent's program, but its plugins need no vault passphrase.
    """
    command = command or editor_command()
    handle, name = tempfile.mkstemp(
        dir=drafts_dir(), prefix=f"reply-{int(conversation_id)}-", suffix=".txt"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text if not text or text.endswith("\n") else text + "\n")
        try:
            status = (run or _run_editor)([*command, name])
        except OSError as exc:
            raise DeskError(
                f"Cannot run the editor {command[0]!r} ({exc.strerror or type(exc).__name__}); "
                "set $EDITOR to an editor that is installed."
            ) from None
        if status != 0:
            raise DeskError(
                f"The editor {Path(command[0]).name} exited with status {status}; the reply was "
                "left as it was."
            )
        edited = Path(name).read_text(encoding="utf-8", errors="replace")
        return clean(edited).rstrip("\n")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _run_editor(argv: list[str]) -> int:
    """The editor in the foreground on our terminal, without deskterm's secrets."""
    return subprocess.call(argv, env=child_env())
