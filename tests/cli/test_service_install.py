"""`deskterm service install|unit`: the systemd unit for `deskterm poll`, as systemd itself
parses it (`systemd-analyze verify`), and what it refuses to write."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deskterm.cli.main import main
from tests.conftest import Desk


def directives(text: str) -> dict[str, list[str]]:
    """Each `Key=value` of a unit file, in order, by key."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def unquoted(value: str) -> list[str]:
    """A quoted unit value as systemd reads it: shell-like words, then `%%` and `$$` undone."""
    return [word.replace("%%", "%").replace("$$", "$") for word in shlex.split(value)]


def verify(path: Path, *, user: bool, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package `systemd`)")
    runtime = tmp_path / "runtime"  # a user manager needs XDG_RUNTIME_DIR, even to verify
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    argv = [analyze, *(["--user"] if user else []), "verify", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_the_unit_is_valid_for_systemd(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: bool
) -> None:
    # A home whose path needs quoting and escaping: a space, a specifier (%Z is none
    # systemd knows, so unescaped it fails verify), a variable.
    home = tmp_path / "the desk %Z $HOME"
    monkeypatch.setenv("DESKTERM_HOME", str(home))
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a long vault passphrase\n")
    unit = tmp_path / "deskterm.service"
    options = ["--user"] if user else ["--run-as", "root"]
    desk.run(
        "service", "install", "--path", str(unit), "--passphrase-file", str(passphrase), *options
    )
    done = verify(unit, user=user, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no directive systemd ignored or warned about
    found = directives(unit.read_text())
    assert found["Type"] == ["notify"]
    assert found["KillMode"] == ["control-group"]
    assert found["Restart"] == ["on-failure"]
    assert found["WatchdogSec"] == ["300"]
    assert found["LoadCredential"] == [f"deskterm-passphrase:{passphrase}"]
    assert unquoted(found["Environment"][0]) == [f"DESKTERM_HOME={home}"]
    assert unquoted(found["ExecStart"][0]) == [sys.executable, "-m", "deskterm.cli", "poll"]
    assert ("User" in found) is not user
    assert found["WantedBy"] == ["default.target" if user else "multi-user.target"]


def test_the_unit_carries_the_settings_and_no_secret(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "120")
    monkeypatch.setenv("DESKTERM_DATABASE_URL", "postgresql://desk@db.example/desk?sslmode=require")
    monkeypatch.setenv("DESKTERM_NEW_MAIL", "bell")  # the app's alone
    monkeypatch.setenv("SMTP_PASS", "smtp-secret-value")
    text = desk.run("service", "unit", "--user").stdout
    environment = [unquoted(v)[0] for v in directives(text)["Environment"]]
    assert "DESKTERM_POLL_INTERVAL=120" in environment
    assert "DESKTERM_DATABASE_URL=postgresql://desk@db.example/desk?sslmode=require" in environment
    assert not any(v.startswith("DESKTERM_NEW_MAIL") for v in environment)
    passphrase = os.environ["DESKTERM_PASSPHRASE"]  # the fixture's vault passphrase
    assert passphrase not in text and "smtp-secret-value" not in text
    assert "PASSPHRASE" not in text and "SMTP_PASS" not in text


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://desk:hunter2@db.example/desk",
        "postgresql://desk@db.example/desk?password=hunter2",
    ],
    ids=["in-user", "in-query"],
)
def test_a_database_url_with_a_password_is_refused(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DESKTERM_DATABASE_URL", url)
    unit = tmp_path / "deskterm.service"
    result = desk.run("service", "install", "--user", "--path", str(unit), ok=False)
    assert result.exit_code == 1
    assert "holds a password" in result.stderr and "~/.pgpass" in result.stderr
    assert "hunter2" not in result.output
    assert not unit.exists()


def test_a_different_unit_is_replaced_only_with_force(desk: Desk, tmp_path: Path) -> None:
    unit = tmp_path / "deskterm.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    refused = desk.run("service", "install", "--user", "--path", str(unit), ok=False)
    assert refused.exit_code == 1
    assert "different unit is already" in refused.stderr and "--force" in refused.stderr
    assert unit.read_text() == "[Service]\nExecStart=/bin/true\n"

    forced = desk.run("service", "install", "--user", "--path", str(unit), "--force")
    assert f"Wrote {unit}" in forced.stdout
    assert unit.read_text() == desk.run("service", "unit", "--user").stdout
    assert unit.stat().st_mode & 0o777 == 0o644  # no secret; systemd tools read it

    again = desk.run("service", "install", "--user", "--path", str(unit))  # same: no --force
    assert "same unit is already" in again.stdout


def test_install_says_what_to_run_next(desk: Desk, tmp_path: Path) -> None:
    unit = tmp_path / "deskterm.service"
    printed = desk.run("service", "install", "--user", "--path", str(unit)).stdout
    assert "systemctl --user daemon-reload" in printed
    assert "systemctl --user enable --now deskterm.service" in printed
    assert "journalctl --user-unit deskterm.service" in printed
    assert "loginctl enable-linger" in printed
    assert str(unit) in printed  # and how to put it where systemd looks


def test_a_vault_desk_without_a_passphrase_file_is_warned(desk: Desk, tmp_path: Path) -> None:
    desk.run("channel", "add", "--file", str(_channel_file(tmp_path)))
    desk.run("channel", "secret", "support", "--inbound", "--stdin", input="pw\n")
    assert (desk.home / "vault.bin").exists()
    result = desk.run("service", "install", "--user", "--path", str(tmp_path / "u.service"))
    assert "--passphrase-file" in result.stderr


def test_a_missing_passphrase_file_or_a_short_watchdog_is_refused(
    desk: Desk, tmp_path: Path
) -> None:
    missing = desk.run("service", "unit", "--passphrase-file", str(tmp_path / "none"), ok=False)
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    short = desk.run("service", "unit", "--watchdog", "5", ok=False)
    assert short.exit_code == 1 and "at least 30 seconds" in short.stderr


def test_writing_where_it_may_not_says_what_to_do(desk: Desk, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = desk.run("service", "install", "--path", str(locked / "d.service"), ok=False)
    assert "No permission" in result.stderr and "--path FILE" in result.stderr


def test_completion_offers_the_service_commands() -> None:
    env = {
        "_DESKTERM_COMPLETE": "bash_complete",
        "COMP_WORDS": "deskterm service ",
        "COMP_CWORD": "2",
    }
    result = CliRunner().invoke(main, [], prog_name="deskterm", env=env)
    assert result.stdout.split() == ["plain,install", "plain,unit"]
    env["COMP_WORDS"], env["COMP_CWORD"] = "deskterm serv", "1"
    assert CliRunner().invoke(main, [], prog_name="deskterm", env=env).stdout.split() == [
        "plain,service"
    ]


def _channel_file(tmp_path: Path) -> Path:
    from tests.conftest import DRAFT_CHANNEL

    path = tmp_path / "channel.toml"
    path.write_text(DRAFT_CHANNEL)
    return path
