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
import select
import sys
import threading
import time
from collections.abc import Iterator, Mapping

# Variables that hold secrets, or can: never given to a program deskterm starts.
SECRET_ENV = frozenset({"DESKTERM_PASSPHRASE", "SMTP_PASS", "DESKTERM_DATABASE_URL", "PGPASSWORD"})


@contextlib.contextmanager
def without_secrets() -> Iterator[None]:
    """This process's environment without the secrets while helper processes are started
    that inherit it (multiprocessing's forkserver and resource tracker start from os.environ,
    not from an env= of ours). Secrets are read before any such start (the vault's
    passphrase, SMTP_PASS), and the pool starts in one place (engine.pool.ParsingPool)."""
    saved = {name: os.environ.pop(name) for name in SECRET_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


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


# The exit status of a process that ended because the deskterm process it served had ended.
EXIT_ORPHANED = 70


def end_with(pid: int, poll_seconds: float = 1.0) -> None:
    """End this process as soon as process `pid` ends, however it ends (SIGKILL included).

    For the parsing processes of `deskterm poll` and the app: they are children of
    multiprocessing's forkserver, not of the process that uses them, and each holds the write
    end of its own task queue and of the forkserver's "alive" pipe, so none of them ever sees
    that process go. Killed with -9 (the OOM killer, `kill -9`), deskterm left the forkserver,
    its workers and the resource tracker running for good: ten kills left 21 processes holding
    817 MB (issue 10, 16). Once the workers end, the forkserver and the resource tracker see
    the end of their pipes and exit by themselves (the tracker after removing what the dead
    process left registered).

    A thread waits on a pidfd of `pid` (readable once it has ended, zombie or not), not on
    PR_SET_PDEATHSIG: that signal follows the parent *thread*, and the parent here is the
    forkserver anyway. Where pidfds are missing (Linux before 5.3), it checks every
    `poll_seconds`. Runs first thing in the child: a `pid` already gone ends it at once.
    """
    try:
        handle: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(EXIT_ORPHANED)
    except (AttributeError, OSError):  # no pidfd_open here: watch by polling
        handle = None
    threading.Thread(
        target=_exit_when_ended,
        args=(pid, handle, poll_seconds),
        name="deskterm-end-with-parent",
        daemon=True,
    ).start()


def _exit_when_ended(pid: int, handle: int | None, poll_seconds: float) -> None:
    if handle is not None:
        select.select([handle], [], [])  # returns only when pid has ended
    else:
        while _running(pid):
            time.sleep(poll_seconds)
    # os._exit, not sys.exit: the main thread may be blocked in a read that never returns.
    os._exit(EXIT_ORPHANED)


def _running(pid: int) -> bool:
    """Whether pid runs (a zombie has ended, though kill(pid, 0) still finds it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc: kill(pid, 0) is all we know


def parsing_process_start(parent: int, niceness: int) -> None:
    """The initializer of deskterm's parsing processes: end with `parent` (the process whose
    pool they serve), and run at `niceness` (the app lowers it so typing stays quick). They
    are started by exec (forkserver), which makes a process dumpable again: they hold mail,
    so they are made undumpable like their parent."""
    disable_core_dumps()
    end_with(parent)
    if niceness:
        os.nice(niceness)
