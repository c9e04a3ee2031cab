"""What deskterm's own process and the programs it starts may inherit.

Secrets reach deskterm through its environment (DESKTERM_PASSPHRASE for the vault, SMTP_PASS
for system notifications, a password in DESKTERM_DATABASE_URL). A child inherits the whole
environment by default, so a password command, `$EDITOR` or the attachment opener could read
them from /proc or pass them on. Every child deskterm starts gets `child_env()` instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
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
    disable_core_dumps()


def disable_core_dumps() -> None:
    """No core file and no ptrace-style reading of this process's memory by other programs
    of the same user: it holds the vault key, mailbox passwords and SMTP_PASS.

    RLIMIT_CORE (0, 0) is inherited by children and cannot be raised again (the hard limit is
    0). PR_SET_DUMPABLE 0 (Linux) also stops another process of the user from attaching a
    debugger or reading /proc/<pid>/mem or environ, and makes this process's /proc entries
    root's; the process itself still reads its own /proc/self/fd (subprocess uses it), and it
    is reset by exec, so the programs deskterm starts are unaffected. Elsewhere a no-op.
    """
    try:
        import resource
    except ImportError:  # Windows: no core files to speak of
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


_PR_SET_DUMPABLE = 4  # <linux/prctl.h>
