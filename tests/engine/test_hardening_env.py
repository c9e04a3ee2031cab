"""Secrets stay in deskterm's process: not in its children, not in clear on the wire, not in a
core dump (issue 10, findings 10, 12 and 15b)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskterm.errors import ConfigError
from deskterm.outbound import notify

# --- finding 12: system notifications follow the channels' rule for security "none" ------------


def notifications_via(monkeypatch: pytest.MonkeyPatch, host: str, **extra: str) -> None:
    monkeypatch.setenv("SMTP_HOST", host)
    monkeypatch.setenv("SMTP_SECURE", "none")
    monkeypatch.setenv("SMTP_USER", "desk")
    monkeypatch.setenv("SMTP_PASS", "hunter2-notify")
    monkeypatch.delenv("SMTP_PORT", raising=False)
    monkeypatch.delenv("SMTP_ALLOW_INSECURE", raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def test_notifications_refuse_plaintext_to_a_host_that_is_not_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notifications_via(monkeypatch, "mail.example.com")
    with pytest.raises(ConfigError) as refused:
        notify.endpoint()
    message = str(refused.value)
    assert ". " not in message and message.endswith(".")  # one sentence
    assert "in clear to mail.example.com" in message
    assert "SMTP_SECURE" in message and "SMTP_ALLOW_INSECURE" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_notifications_may_use_plaintext_to_loopback(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    notifications_via(monkeypatch, host)
    assert notify.endpoint().security == "none"


def test_notifications_plaintext_elsewhere_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notifications_via(monkeypatch, "mail.example.com", SMTP_ALLOW_INSECURE="1")
    assert notify.endpoint().port == 25


# --- finding 10: no program deskterm starts inherits a secret ----------------------------------

SECRETS = {"DESKTERM_PASSPHRASE", "SMTP_PASS", "DESKTERM_DATABASE_URL", "PGPASSWORD"}
# Prints the names of the environment it got, on one line (a password command's first line).
PRINT_ENV = "import json, os; print(json.dumps(sorted(os.environ)))"


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every secret deskterm may hold in its environment, as a real run may have them."""
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("SMTP_PASS", "hunter2-notify")
    monkeypatch.setenv("PGPASSWORD", "pg-secret")
    monkeypatch.setenv("DESKTERM_CHILD_PROBE", "kept")  # an ordinary variable reaches the child


def inherited(names: list[str]) -> None:
    assert "DESKTERM_CHILD_PROBE" in names and "PATH" in names
    assert SECRETS.isdisjoint(names), sorted(SECRETS & set(names))


@pytest.mark.usefixtures("secrets_in_env")
def test_a_password_command_inherits_no_secret() -> None:
    from deskterm.secrets.store import run_password_command

    inherited(json.loads(run_password_command([sys.executable, "-c", PRINT_ENV])))


@pytest.mark.usefixtures("secrets_in_env", "desk_home")
def test_the_editor_inherits_no_secret(tmp_path: Path) -> None:
    from deskterm.outbound import editor

    program = tmp_path / "fake-editor"
    program.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "open(sys.argv[1], 'w').write(json.dumps(sorted(os.environ)))\n"
    )
    program.chmod(0o755)
    inherited(json.loads(editor.edit_externally("Hello", 4, command=[str(program)])))


@pytest.mark.usefixtures("secrets_in_env", "desk_home")
def test_the_attachment_opener_inherits_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deskterm.desk import attachments
    from deskterm.store import blobs

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "opener-env.json"
    opener = bin_dir / "xdg-open"  # found through PATH, as the real one is
    opener.write_text(
        f"#!{sys.executable}\nimport json, os\n"
        f"open({str(seen) + '.tmp'!r}, 'w').write(json.dumps(sorted(os.environ)))\n"
        f"os.replace({str(seen) + '.tmp'!r}, {str(seen)!r})\n"
    )
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    sha256 = blobs.store_attachment(b"%PDF-1.4 invoice\n")
    attachments.open_with_system(sha256, "invoice.pdf")
    deadline = time.monotonic() + 20
    while not seen.exists():  # the opener runs detached: wait for what it wrote
        assert time.monotonic() < deadline, "the fake opener never ran"
        time.sleep(0.05)
    inherited(json.loads(seen.read_text()))


# --- finding 15b: no core dump of a process that holds secrets ---------------------------------

# Runs one real command through the entry point, then reports on its own process.
AFTER_A_COMMAND = """
import ctypes, json, resource, sys
from deskterm.cli.main import main
main(["channel", "list", "--json"], standalone_mode=False)
libc = ctypes.CDLL(None, use_errno=True)
PR_GET_DUMPABLE = 3
print(json.dumps({
    "core": resource.getrlimit(resource.RLIMIT_CORE),
    "dumpable": libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_command_disables_core_dumps_of_its_process(desk_home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", AFTER_A_COMMAND],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"core": [0, 0], "dumpable": 0}


def test_disabling_core_dumps_cannot_be_undone_by_a_child() -> None:
    """The hard limit is 0 too, so nothing deskterm starts can raise it again."""
    probe = (
        "import resource\n"
        "from deskterm import process\n"
        "process.disable_core_dumps()\n"
        "try:\n"
        "    resource.setrlimit(resource.RLIMIT_CORE, (1 << 20, 1 << 20))\n"
        "except ValueError:\n"
        "    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "refused", done.stderr
