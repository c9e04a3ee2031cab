"""Where a real server cannot run, its tests skip on a developer's machine and fail under CI.

Each case runs a tiny pytest session in a subprocess, with the suite's own server fixtures
(tests/servers/mailservers.py, tests/servers/pgserver.py) told that this machine cannot run them (as
a machine without root would say), and reads the verdict: a CI run can never pass with the
real-server tests skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.serverhost import in_ci

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
pytest_plugins = ["tests.servers.mailservers", "tests.servers.pgserver"]


def pytest_configure(config):
    from tests.servers import mailservers, pgserver

    # What unavailable_reason() says on a machine that cannot run the servers (here: forced).
    mailservers.unavailable_reason = lambda: "forced: Dovecot and Postfix need root to start"
    pgserver.unavailable_reason = lambda: "forced: PostgreSQL is not installed and not root"
"""

TESTS = """
from tests.servers.mailservers import MailServers, private_dovecot


def test_session_mail_servers(mail_servers):
    pass


def test_session_postgresql(pg_server):
    pass


def test_a_private_dovecot():
    with private_dovecot(MailServers):
        pass
"""

BROKEN_START = """
pytest_plugins = ["tests.servers.mailservers"]


def pytest_configure(config):
    from tests.servers import mailservers

    def start(self):
        raise mailservers.MailServersError("forced: dovecot exited with 89")

    mailservers.unavailable_reason = lambda: None
    mailservers.MailServers.start = start
"""


def run_session(
    tmp_path: Path, conftest: str, ci: str | None, tests: str = TESTS
) -> subprocess.CompletedProcess:
    """pytest on tests with conftest, in its own rootdir (none of the suite's settings)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_needs_servers.py").write_text(tests)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def verdict(done: subprocess.CompletedProcess) -> str:
    """pytest's last line: "3 skipped in 0.01s", "1 failed, 2 errors in 0.02s"..."""
    return done.stdout.strip().splitlines()[-1]


def test_a_developer_machine_skips_what_cannot_run(tmp_path: Path) -> None:
    done = run_session(tmp_path, CONFTEST, ci=None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdict(done).startswith("3 skipped in")
    assert "forced: Dovecot and Postfix need root to start" in done.stdout
    assert "forced: PostgreSQL is not installed and not root" in done.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_server_that_cannot_run_fails_the_run(tmp_path: Path, ci: str) -> None:
    done = run_session(tmp_path, CONFTEST, ci=ci)
    assert done.returncode == 1, done.stdout + done.stderr
    # Session fixtures fail at set-up: pytest counts those as errors, the private one fails.
    assert verdict(done).startswith("1 failed, 2 errors in")
    assert "forced: Dovecot and Postfix need root to start; under CI" in done.stdout
    assert "forced: PostgreSQL is not installed and not root; under CI" in done.stdout


def test_a_server_that_is_there_but_does_not_start_fails_ci_or_not(tmp_path: Path) -> None:
    tests = "def test_session_mail_servers(mail_servers):\n    pass\n"
    done = run_session(tmp_path, BROKEN_START, ci=None, tests=tests)
    assert done.returncode == 1, done.stdout + done.stderr
    assert verdict(done).startswith("1 error in")
    assert "forced: dovecot exited with 89" in done.stdout


def test_ci_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in [("true", True), ("1", True), ("TRUE", True), ("", False)]:
        monkeypatch.setenv("CI", value)
        assert in_ci() is expected
    monkeypatch.setenv("CI", "false")
    assert not in_ci()
    monkeypatch.delenv("CI")
    assert not in_ci()
