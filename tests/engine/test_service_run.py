"""`deskterm poll` run exactly as its systemd unit says (`deskterm service install`): the unit's
ExecStart= and Environment= only, its LoadCredential= as systemd hands it over, a notification
socket the test binds in place of systemd's, a short watchdog, stderr on a stream socket that
JOURNAL_STREAM names (as the journal's is) and the suite's real Dovecot behind the channel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from deskterm.store import connection
from tests.cli.test_service_install import directives, unquoted
from tests.conftest import Desk, channel_toml
from tests.engine.test_worker_faults import REFUSAL, wait_for
from tests.mailfactory import make_mail
from tests.servers.mailservers import MailServers

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
# What systemd itself gives every service (systemd.exec(5), "Environment Variables").
SYSTEMD_BASE = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
WATCHDOG_USEC = 2_000_000  # WatchdogSec=2 for the test; the unit says 300


class Manager:
    """systemd's end of NOTIFY_SOCKET: every datagram the service sends, in order."""

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                self.messages.append(self.sock.recv(4096).decode())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class Service:
    """One run of the unit's command, with its journal stream read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str], folder: Path) -> None:
        self.manager = Manager(folder)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        info = os.fstat(theirs.fileno())
        env = {
            **env,
            "NOTIFY_SOCKET": self.manager.path,
            "WATCHDOG_USEC": str(WATCHDOG_USEC),
            "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}",
        }
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=theirs.fileno(),
            stderr=theirs.fileno(),
            start_new_session=True,
        )
        theirs.close()
        self.output = ""
        self._journal = ours
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self._journal.recv(65536):
            self.output += chunk.decode(errors="replace")

    def finish(self, timeout: float = 30) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self._reader.join(timeout=10)
            self._journal.close()
            self.manager.close()
        return code


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: an AF_UNIX socket path has at most 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="sdsvc", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def as_the_unit_says(unit: Path, credentials: Path) -> tuple[list[str], dict[str, str]]:
    """ExecStart='s argv and the environment systemd would give it: its own few variables,
    Environment=, and CREDENTIALS_DIRECTORY holding a copy of each LoadCredential= file."""
    found = directives(unit.read_text())
    [exec_start] = found["ExecStart"]
    env = dict(SYSTEMD_BASE, HOME=os.environ["HOME"])
    for value in found["Environment"]:
        [assignment] = unquoted(value)
        name, _, setting = assignment.partition("=")
        env[name] = setting
    credentials.mkdir(mode=0o700)
    for value in found.get("LoadCredential", []):
        name, _, source = value.partition(":")
        shutil.copyfile(source, credentials / name)
    env["CREDENTIALS_DIRECTORY"] = str(credentials)
    return unquoted(exec_start), env


@pytest.mark.sqlite_only(
    "the one worker of a desk file, a second one refused; "
    "a team desk's URL with a password is refused for a unit file by design"
)
def test_the_unit_runs_a_worker_systemd_can_watch(
    desk: Desk, mail_servers: MailServers, tmp_path: Path, short_dir: Path
) -> None:
    mail_servers.clear(SUPPORT)
    mail_servers.append(SUPPORT, make_mail("Printer on fire"))
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    # The channel's password is in the vault; the service gets its passphrase only as the
    # systemd credential (the unit's environment has no DESKTERM_PASSPHRASE).
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(os.environ["DESKTERM_PASSPHRASE"] + "\n")
    passphrase.chmod(0o600)
    unit = tmp_path / "deskterm.service"
    desk.run("service", "install", "--path", str(unit), "--passphrase-file", str(passphrase))
    argv, env = as_the_unit_says(unit, tmp_path / "credentials")
    assert "DESKTERM_PASSPHRASE" not in env

    (short_dir / "first").mkdir()
    service = Service(argv, env, short_dir / "first")
    try:
        manager = service.manager
        wait_for(lambda: manager.messages, timeout=60, what="the first notification")
        assert manager.messages[0].startswith("READY=1\n")
        wait_for(lambda: "WATCHDOG=1" in manager.messages[1:], timeout=60, what="a watchdog pet")
        # Logged in with the passphrase from the credential, and fetched the mail.
        wait_for(
            lambda: "support: fetched 1, ingested 1, skipped 0, failed 0; ok" in service.output,
            timeout=60,
            what=f"the first run in the journal: {service.output!r}",
        )
        pets = manager.messages.count("WATCHDOG=1")
        wait_for(lambda: manager.messages.count("WATCHDOG=1") > pets, timeout=30, what="pets")

        # A second worker for the desk is refused the lock: it never says it is ready.
        (short_dir / "second").mkdir()
        second = Service(argv, env, short_dir / "second")
        assert second.finish(timeout=60) == 1
        assert second.manager.messages == []
        assert REFUSAL in second.output

        service.process.send_signal(signal.SIGTERM)
        assert service.finish() == 0, service.output
    finally:
        if service.process.poll() is None:
            service.finish(timeout=1)
    assert manager.messages[-1] == "STOPPING=1"
    assert all(m in ("WATCHDOG=1", "STOPPING=1") for m in manager.messages[1:])
    # Every line carries its level for journald (no redraws): `<6>` and the like.
    lines = service.output.splitlines()
    assert lines and all(line[:3] in ("<3>", "<4>", "<5>", "<6>") for line in lines), lines
    assert "<6>deskterm: polling." in lines
    assert "\r" not in service.output and "Traceback" not in service.output


@pytest.mark.postgres
def test_the_unit_on_a_team_desk_signs_in_through_pgpass_and_leads(
    desk: Desk,
    mail_servers: MailServers,
    pg: str,
    tmp_path: Path,
    short_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The unit's DESKTERM_DATABASE_URL carries no password (a URL with one is refused); the
    service user's ~/.pgpass (mode 0600) holds it, as libpq reads it."""
    mail_servers.clear(SUPPORT)
    mail_servers.append(SUPPORT, make_mail("Server room flooded"))
    desk.add_channel(
        channel_toml(mail_servers),
        inbound=mail_servers.users[SUPPORT],
        outbound=mail_servers.users[SUPPORT],
    )
    parts = urlsplit(pg)
    monkeypatch.setenv("DESKTERM_DATABASE_URL", connection.shown_url(pg))
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(os.environ["DESKTERM_PASSPHRASE"] + "\n")
    passphrase.chmod(0o600)
    unit = tmp_path / "deskterm.service"
    desk.run("service", "install", "--path", str(unit), "--passphrase-file", str(passphrase))
    argv, env = as_the_unit_says(unit, tmp_path / "credentials")
    assert env["DESKTERM_DATABASE_URL"] == connection.shown_url(pg)
    assert parts.password and parts.password not in unit.read_text()
    service_home = tmp_path / "service-home"
    service_home.mkdir()
    pgpass = service_home / ".pgpass"
    pgpass.write_text(
        f"{parts.hostname}:{parts.port}:{parts.path.lstrip('/')}:{parts.username}:"
        f"{parts.password}\n"
    )
    pgpass.chmod(0o600)
    env["HOME"] = str(service_home)

    service = Service(argv, env, short_dir)
    try:
        wait_for(lambda: service.manager.messages, timeout=60, what="the first notification")
        assert service.manager.messages[0].startswith("READY=1\n"), service.output
        wait_for(
            lambda: "support: fetched 1, ingested 1, skipped 0, failed 0; ok" in service.output,
            timeout=60,
            what=lambda: f"the first run in the journal: {service.output!r}",
        )
        # It leads the channel: its lock connection holds an advisory lock.
        with psycopg2.connect(pg) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND a.application_name = 'deskterm leader' AND a.datname = current_database()"
            )
            assert cur.fetchone()[0] >= 1
        service.process.send_signal(signal.SIGTERM)
        assert service.finish() == 0, service.output
    finally:
        if service.process.poll() is None:
            service.finish(timeout=1)
    assert parts.password not in service.output
    assert "Traceback" not in service.output
