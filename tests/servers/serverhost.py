"""What the suite's real servers (tests/servers/mailservers.py, tests/servers/pgserver.py, the
Secret Service test) need from the machine, in one place: Debian packages installed as root without
starting the system's own daemons, the system users the daemons run as, state directories they can
reach, a session that starts, stops and cleans up after itself, and what happens where a server
cannot run here.

That last rule: on a developer's machine the tests that need a server skip (saying why); under
CI (`CI=true`, as `.ci/run` sets and every CI service does) they fail the run instead, so a CI
job that lost its servers (run as a normal user, no apt-get) cannot pass with every
real-server test silently skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, Protocol, TypeVar

import pytest

from tests.servers.proctree import stat

# Daemons get a small, fixed environment: nothing of the caller's (SSLKEYLOGFILE, proxies...)
# leaks into them, and /usr/sbin is on PATH even where the caller's PATH lacks it.
DAEMON_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
# State dirs go unquoted into dovecot.conf and main.cf, quoted into postgresql.conf.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]+$")
CI_VALUES = ("1", "true", "yes")  # CI=true (GitHub, GitLab, most others), CI=1


class ServerError(RuntimeError):
    """A server could not be installed, started or stopped; the message has the logs."""


class ServerUnavailable(ServerError):
    """This machine cannot run a server at all (not root, not Debian): its tests skip, or
    fail under CI."""


# --- when a server cannot run -----------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def cannot_run(reason: str) -> NoReturn:
    """Skip the test that needs this server, or fail it under CI (see the module doc)."""
    if in_ci():
        pytest.fail(
            f"{reason}; under CI (CI={os.environ['CI']}) the real-server tests must run, not skip",
            pytrace=False,
        )
    pytest.skip(reason)


def require(unavailable_reason: str | None) -> None:
    """cannot_run(unavailable_reason) if there is one: what every server fixture does first."""
    if unavailable_reason:
        cannot_run(unavailable_reason)


# --- packages and system users (root) -------------------------------------------------------


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """Serialises package installation and useradd between concurrent test sessions (two
    sessions sharing one policy-rc.d guard could let one of them start system daemons)."""
    with open(
        "/run/lock/deskterm-mailservers.lock"
        if Path("/run/lock").is_dir()
        else "/tmp/deskterm-mailservers.lock",
        "w",
    ) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_logged(cmd: Sequence[str], log: Path, env: dict[str, str], **kw: object) -> int:
    """Run cmd with its output appended to log (after the command line); returns its code."""
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
            **kw,  # type: ignore[arg-type]
        ).returncode


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log, each prefixed with its file name, for error messages."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"  ({path.name}: none)"
    shown = "\n".join(f"  {path.name}: {line}" for line in text[-lines:])
    return shown or f"  ({path.name}: empty)"


def apt_get_install(packages: list[str], log: Path, env: dict[str, str]) -> int:
    """`apt-get install` (no recommends) with the package scripts kept from starting the
    *system* services they install (a temporary /usr/sbin/policy-rc.d that exits 101: they
    would listen on the machine's own ports); `apt-get update` only when the package lists
    are missing, or once more when the install failed on stale lists. Returns apt's code.
    The caller holds the machine lock, so two installs never fight over dpkg's."""
    guard = Path("/usr/sbin/policy-rc.d")
    created_guard = False
    if not guard.exists():
        guard.write_text("#!/bin/sh\nexit 101\n")
        guard.chmod(0o755)
        created_guard = True
    try:
        updated = False
        if not glob.glob("/var/lib/apt/lists/*_Packages"):
            run_logged(["apt-get", "update", "-qq"], log, env)
            updated = True
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
        install += ["-o", "DPkg::Lock::Timeout=300", *packages]
        rc = run_logged(install, log, env)
        if rc != 0 and not updated:  # stale lists give 404s: refresh once and retry
            run_logged(["apt-get", "update", "-qq"], log, env)
            rc = run_logged(install, log, env)
    finally:
        if created_guard:
            guard.unlink(missing_ok=True)
    return rc


def install(missing: Callable[[], list[str]], log: Path, debconf: bytes | None = None) -> float:
    """Install the Debian packages missing() names, answering debconf's questions first;
    returns the seconds it took (0 when nothing was missing). Under the machine lock, with
    `apt_get_install`'s guard against starting the system's own daemons."""
    t0 = time.monotonic()
    with machine_lock():
        packages = missing()
        if not packages:
            return 0.0
        if os.geteuid() != 0:
            raise ServerUnavailable(f"packages missing ({' '.join(packages)}), not root")
        env = {**DAEMON_ENV, "DEBIAN_FRONTEND": "noninteractive"}
        if debconf is not None:
            subprocess.run(
                ["debconf-set-selections"], input=debconf, env=env, check=True, capture_output=True
            )
        rc = apt_get_install(packages, log, env)
        if rc != 0 or missing():
            raise ServerError(f"installing {' '.join(packages)} failed (rc {rc}):\n{tail(log, 30)}")
    return time.monotonic() - t0


def system_user(*names: str) -> pwd.struct_passwd:
    """The first of names that exists as a user, else the last one created (a system user:
    no home, no shell). Daemons drop to such a user: Dovecot refuses to deliver mail as root,
    initdb and postgres refuse to run as root."""
    with machine_lock():
        for name in names:
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                names[-1],
            ],
            env=DAEMON_ENV,
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(names[-1])


# --- state directories ------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """count distinct free TCP ports on 127.0.0.1. All sockets are held open together so the
    kernel cannot hand out a port twice; they are closed before the daemons bind, which
    leaves a small race with other processes (accepted: start fails loudly if it is lost)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def checked_state_dir(state_dir: Path, max_chars: int) -> Path:
    """A server's state dir made absolute, refused if it could break the configuration files
    it is written into (odd characters) or the unix sockets under it (too long)."""
    state_dir = Path(state_dir).absolute()
    if not SAFE_PATH.match(str(state_dir)):
        raise ValueError(f"state_dir must match {SAFE_PATH.pattern}: {state_dir}")
    if len(str(state_dir)) > max_chars:
        raise ValueError(f"state_dir too long for unix socket paths (max {max_chars}): {state_dir}")
    return state_dir


def unreachable_parent(state_dir: Path) -> str | None:
    """Why daemons running as another user could not reach state_dir, or None if they can.

    They drop to their own users and open absolute paths there, so every parent must be
    searchable by others. pytest's tmp_path is not (0700, and each pytest start re-chmods its
    root to 0700), which is why the fixtures use $TMPDIR.
    """
    for parent in state_dir.parents:
        if not parent.stat().st_mode & 0o001:
            return (
                f"{parent} is not searchable by other users (mode "
                f"{oct(parent.stat().st_mode & 0o777)}); the daemons could not reach {state_dir}"
            )
    return None


def new_state_dir(prefix: str) -> Path:
    """A fresh $TMPDIR/<prefix>* dir, marked with its owner (this process and its start time),
    so that a later session can tell it was left behind (see `stale_state_dirs`)."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    st = stat(os.getpid())
    (state_dir / "owner").write_text(f"{os.getpid()} {st.started if st else 0}")
    return state_dir


def stale_state_dirs(prefix: str, root: Path | None = None) -> list[Path]:
    """The state dirs of earlier sessions that died without teardown (SIGKILL, CI timeout): the
    process that wrote their `owner` file is gone. Live sessions' dirs are never listed."""
    stale = []
    for d in Path(root or tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            pid_text, start = (d / "owner").read_text().split()
        except (OSError, ValueError):
            continue
        st = stat(int(pid_text))
        if st is None or str(st.started) != start or st.state in "ZX":
            stale.append(d)
    return stale


def reap_stale_state_dirs(
    prefix: str, stop_leftovers: Callable[[Path], None], root: Path | None = None
) -> list[Path]:
    """Stop the servers left by dead sessions (stop_leftovers(state_dir)) and delete their
    state dirs."""
    reaped = stale_state_dirs(prefix, root)
    for d in reaped:
        stop_leftovers(d)
        shutil.rmtree(d, ignore_errors=True)
    return reaped


# --- a session --------------------------------------------------------------------------------


class Server(Protocol):
    state_dir: Path

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def log_files(self) -> list[Path]: ...


ServerT = TypeVar("ServerT", bound=Server)


def serve(server: ServerT, keep_logs: Callable[[], Path] | None = None) -> Iterator[ServerT]:
    """Generator behind a session fixture (usable without pytest): start the server in its
    fresh state dir, yield it, stop it, copy its logs into keep_logs() and delete the dir."""
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            if keep_logs is not None and (logs := server.log_files()):
                target = keep_logs()
                for log in logs:
                    shutil.copy(log, target / log.name)
            shutil.rmtree(server.state_dir, ignore_errors=True)
