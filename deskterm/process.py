"""What deskterm's own process and the programs it starts may inherit.

Secrets reach deskterm through its environment (DESKTERM_PASSPHRASE for the vault, SMTP_PASS
for system notifications, a password in DESKTERM_DATABASE_URL). A child inherits the whole
environment by default, so a password command, `$EDITOR` or the attachment opener could read
them from /proc or pass them on. Every child deskterm starts gets `child_env()` instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Variables that hold secrets, or can: never given to a program deskterm starts.
SECRET_ENV = frozenset({"DESKTERM_PASSPHRASE", "SMTP_PASS", "DESKTERM_DATABASE_URL", "PGPASSWORD"})


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a program deskterm starts: ours without the secrets."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if k not in SECRET_ENV}


def harden_process() -> None:
    """Make what this process writes private to its owner; called first by the `deskterm`
    command, so the app, `poll` and every command (and the worker processes they start) get it.

    umask 077: files and folders are created without any group or other permission. The engine
    also gives its own files explicit modes, but this covers everything else written under the
    desk's home (the log, the poll lock, temporary files of libraries) with one rule. Files
    saved outside the home (an attachment the agent saves) are made by mkstemp, 0600 anyway.
    """
    os.umask(0o077)
