"""A real PostgreSQL server on loopback, for tests of the desk on PostgreSQL.

Project rule: PostgreSQL tests use a real PostgreSQL server, started by the suite itself. Like
tests/servers/mailservers.py, this uses Debian's own package (installed with apt-get when `initdb`
and `pg_ctl` are missing), run as a private instance:

* a throwaway cluster made by `initdb` in a fresh $TMPDIR/deskterm-pg-* directory, owned by
  the `postgres` user (initdb and the server refuse to run as root);
* listening on 127.0.0.1 only, on a port picked free at run time, with its unix socket inside
  that directory (never /var/run/postgresql), password (SCRAM) authentication everywhere;
* durability off (fsync, synchronous_commit, full_page_writes): nothing here must survive a
  crash of the machine, and it keeps per-test databases cheap.

Roles: `deskterm_admin`, the cluster's superuser, only sets the server up; the desk connects
as `desk`, an ordinary role that owns its databases (as a team desk would, never a superuser)
and may create databases, which is how every test gets a fresh, empty one.

Use from pytest: ``pytest_plugins = ["tests.servers.pgserver"]``, then the session fixture
``pg_url`` (the server's own database ``desk``) or, for a clean database per test, ``pg_desk_url``.
Outside pytest::

    with PgServer(Path(tempfile.mkdtemp(prefix="deskterm-pg-"))) as server:
        print(server.url())
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.servers.proctree import read_pid, running, signal_and_wait
from tests.servers.serverhost import (
    DAEMON_ENV,
    ServerError,
    ServerUnavailable,
    checked_state_dir,
    free_ports,
    install,
    new_state_dir,
    reap_stale_state_dirs,
    require,
    run_logged,
    serve,
    system_user,
    tail,
    unreachable_parent,
)

REQUIRED_PACKAGE = "postgresql"  # Debian's metapackage: the supported major version
PROGRAMS = ("initdb", "pg_ctl", "postgres")
SERVER_USER = "postgres"  # created by the package; DEDICATED_USER where it does not exist
DEDICATED_USER = "desktermpg"
ADMIN_ROLE = "deskterm_admin"
DESK_ROLE = "desk"
DESK_DATABASE = "desk"
STATE_PREFIX = "deskterm-pg-"  # the fixture's state dirs: $TMPDIR/deskterm-pg-*
READY_TIMEOUT = 30  # seconds for pg_ctl start/stop
START_ATTEMPTS = 3  # a free port taken by someone else between picking and binding: retry


class PgServerError(ServerError):
    """The server could not be installed, started or stopped; the message has the log."""


# --- the programs -----------------------------------------------------------------------------


def _major(bindir: str) -> tuple[int, ...]:
    """(15,) for /usr/lib/postgresql/15/bin: the newest installed major version wins."""
    name = Path(bindir).parent.name
    return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when they are missing.

    PATH first (resolving symlinks, since pg_ctl starts the `postgres` beside it), then
    Debian's layout, where only wrappers are on PATH: /usr/lib/postgresql/<major>/bin.
    """
    candidates = []
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    debian = sorted(
        (str(Path(p).parent) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=_major,
        reverse=True,
    )
    candidates.extend(Path(d) for d in debian)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in PROGRAMS):
            return directory
    return None


def unavailable_reason() -> str | None:
    """Why the server cannot run on this machine, or None if it can (or can be installed)."""
    if find_bindir() is not None:
        return None
    if os.geteuid() != 0:
        return "PostgreSQL is not installed (initdb/pg_ctl missing) and not root to install it"
    if shutil.which("apt-get") is None:
        return "PostgreSQL is not installed (initdb/pg_ctl missing) and there is no apt-get"
    return None


def install_postgresql(log: Path) -> float:
    """apt-get install Debian's `postgresql` when initdb/pg_ctl are missing; returns seconds."""
    return install(lambda: [] if find_bindir() else [REQUIRED_PACKAGE], log)


def server_user() -> pwd.struct_passwd | None:
    """Who runs initdb and the server: `postgres` (or a dedicated system user created here
    where the package did not make one) when we are root; None = ourselves otherwise."""
    if os.geteuid() != 0:
        return None
    return system_user(SERVER_USER, DEDICATED_USER)


# --- the server -------------------------------------------------------------------------------


class PgServer:
    """A private PostgreSQL cluster on 127.0.0.1, everything under `state_dir`."""

    host = "127.0.0.1"

    def __init__(self, state_dir: Path) -> None:
        # The socket is state_dir/.s.PGSQL.<port>; sun_path holds 107 bytes.
        self.state_dir = checked_state_dir(state_dir, 80)
        self.data_dir = state_dir / "data"
        self.log_file = state_dir / "postgres.log"
        self.port = 0
        self.admin_password = secrets.token_urlsafe(18)
        self.desk_password = secrets.token_urlsafe(18)
        self.bindir: Path | None = None
        self.install_seconds = 0.0
        self.start_seconds: float | None = None
        self._user: pwd.struct_passwd | None = None

    def __enter__(self) -> PgServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Install what is missing, initdb, start on a free port, create the desk's role and
        database. Raises with the server's log when any step fails."""
        t0 = time.monotonic()
        reason = unavailable_reason()
        if reason:
            raise ServerUnavailable(reason)
        self.install_seconds = install_postgresql(self.state_dir / "apt.log")
        self.bindir = find_bindir()
        assert self.bindir is not None
        self._user = server_user()
        if self._user is not None and (complaint := unreachable_parent(self.state_dir)):
            raise PgServerError(complaint)
        self.state_dir.chmod(0o700)
        if self._user is not None:
            os.chown(self.state_dir, self._user.pw_uid, self._user.pw_gid)
        self._initdb()
        for attempt in range(START_ATTEMPTS):
            (self.port,) = free_ports(1)
            self._write_settings()
            if self._pg_ctl("start", "-l", str(self.log_file)) == 0:
                break
            if attempt == START_ATTEMPTS - 1 or "in use" not in tail(self.log_file, 20):
                raise PgServerError(f"pg_ctl start failed\n{tail(self.log_file, 30)}")
        self._create_desk()
        self.start_seconds = time.monotonic() - t0

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended). Keeps every file."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        if self._pg_ctl("stop", "-m", "fast") == 0 and not running(pid):
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):  # immediate shutdown, then the hammer
            if signal_and_wait(pid, sig, within=5):
                break
        raise PgServerError(f"postgres (pid {pid}) did not stop on pg_ctl stop\n{self.log_tail()}")

    def postmaster_pid(self) -> int | None:
        """The running postmaster of this cluster: the pid in its postmaster.pid, alive and
        started on our data directory (a reused pid is not ours)."""
        pid = read_pid(self.data_dir / "postmaster.pid")
        if pid is None or not running(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        return pid if str(self.data_dir).encode() in cmdline else None

    def log_files(self) -> list[Path]:
        """Every log of this cluster (kept by the session fixture when it ends)."""
        return sorted(self.state_dir.glob("*.log"))

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_file, lines)

    # -- databases ---------------------------------------------------------------------------

    def url(self, database: str = DESK_DATABASE) -> str:
        """What DESKTERM_DATABASE_URL takes: the desk role on `database`."""
        return f"postgresql://{DESK_ROLE}:{self.desk_password}@{self.host}:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg2.extensions.connection:
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=ADMIN_ROLE,
            password=self.admin_password,
            dbname=database,
        )
        conn.autocommit = True
        return conn

    # -- steps ---------------------------------------------------------------------------

    def _run(self, args: list[str], log_name: str, new_session: bool = False) -> int:
        """Run a PostgreSQL program as the server user, its output appended to a log."""
        extra: dict[str, object] = {"start_new_session": new_session}
        if self._user is not None:
            extra.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        env = {**DAEMON_ENV, "HOME": str(self.state_dir)}
        return run_logged(args, self.state_dir / log_name, env, cwd=self.state_dir, **extra)

    def _pg_ctl(self, action: str, *args: str) -> int:
        assert self.bindir is not None
        cmd = [str(self.bindir / "pg_ctl"), action, "-D", str(self.data_dir), "-w"]
        # Its own session: a Ctrl+C meant for pytest does not stop the server under a test.
        return self._run([*cmd, "-t", str(READY_TIMEOUT), *args], "pg_ctl.log", new_session=True)

    def _initdb(self) -> None:
        assert self.bindir is not None
        pwfile = self.state_dir / "admin.pw"
        pwfile.write_text(self.admin_password + "\n")
        pwfile.chmod(0o600)
        if self._user is not None:
            os.chown(pwfile, self._user.pw_uid, self._user.pw_gid)
        try:
            rc = self._run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    ADMIN_ROLE,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",  # C: exists everywhere, no locales package needed
                    "--no-sync",  # a throwaway cluster: no fsync of the new files
                    "--no-instructions",
                ],
                "initdb.log",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if rc != 0:
            raise PgServerError(f"initdb failed (rc {rc})\n{tail(self.state_dir / 'initdb.log')}")

    def _write_settings(self) -> None:
        """Our settings, last in postgresql.conf so they win over initdb's."""
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text().split("# --- deskterm tests ---\n")[0]
        conf.write_text(
            text
            + "# --- deskterm tests ---\n"
            + f"listen_addresses = '{self.host}'\n"
            + f"port = {self.port}\n"
            + f"unix_socket_directories = '{self.state_dir}'\n"
            + "fsync = off\n"
            + "synchronous_commit = off\n"
            + "full_page_writes = off\n"
            + "max_connections = 50\n"
            # Far from UTC, at an odd offset: a timestamp that depends on the server's zone
            # (rather than the naive UTC the desk stores) shows up as a wrong time.
            + "timezone = 'Pacific/Chatham'\n"
        )

    def _create_desk(self) -> None:
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"CREATE ROLE {DESK_ROLE} LOGIN CREATEDB PASSWORD %s", (self.desk_password,)
                )
                cur.execute(f"CREATE DATABASE {DESK_DATABASE} OWNER {DESK_ROLE}")
        finally:
            conn.close()


# --- per-test databases -----------------------------------------------------------------------

_numbers = itertools.count(1)
# One connection per server that makes and drops the per-test databases: signing in (SCRAM)
# costs more than CREATE DATABASE itself, and the PostgreSQL pass makes one for every test.
_makers: dict[str, psycopg2.extensions.connection] = {}


def _maker(url: str) -> psycopg2.extensions.connection:
    """The kept connection for url's server, opened again when it was closed or broke (a test
    that restarts the server ends it)."""
    conn = _makers.get(url)
    if conn is not None and not conn.closed:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            return conn
        except psycopg2.Error:
            conn.close()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    _makers[url] = conn
    return conn


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database on url's server, owned by url's role; dropped afterwards (with
    FORCE: a connection the test left open is ended rather than failing the drop)."""
    base, _, _ = url.rpartition("/")
    name = f"desk_t{os.getpid()}_{next(_numbers)}"
    with _maker(url).cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        _drop(url, name)


def _drop(url: str, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE), asked again while an autovacuum worker is in it: FORCE
    ends the desk role's own connections, but a non-superuser may not end autovacuum's (it
    runs as the superuser), and the drop then fails with InsufficientPrivilege (seen in a
    clean-clone CI run). The worker is done within moments; a drop refused for 10 s is real."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with _maker(url).cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg2.errors.InsufficientPrivilege:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --- pytest -----------------------------------------------------------------------------------


def _stop_leftovers(state_dir: Path) -> None:
    pid = PgServer(state_dir).postmaster_pid()
    if pid is not None:
        signal_and_wait(pid, signal.SIGQUIT, within=5)  # immediate shutdown; files go next


def start_for_session(keep_logs: Callable[[], Path] | None = None) -> Iterator[PgServer]:
    """Generator behind the fixture (usable without pytest): reap what dead sessions left,
    then `serve` a PgServer in a fresh state dir."""
    reap_stale_state_dirs(STATE_PREFIX, _stop_leftovers)
    yield from serve(PgServer(new_state_dir(STATE_PREFIX)), keep_logs)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """A running PostgreSQL for the whole session; skipped only where it cannot run at all
    (not installed and not root), and failed there under CI (`serverhost.cannot_run`). The
    logs are kept in tmp_path_factory's "pgserver-logs"."""
    require(unavailable_reason())
    try:
        yield from start_for_session(lambda: tmp_path_factory.mktemp("pgserver-logs"))
    finally:
        while _makers:
            _makers.popitem()[1].close()


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """postgresql://desk:PASSWORD@127.0.0.1:PORT/desk, the session server's database."""
    return pg_server.url()


@pytest.fixture
def pg_desk_url(pg_url: str) -> Iterator[str]:
    """A fresh, empty database on the session server for one test, dropped after it."""
    with fresh_database(pg_url) as url:
        yield url
