"""Against a real Secret Service (gnome-keyring on a private D-Bus session), not a mock.

The keyring daemon runs under `dbus-run-session` with HOME and the XDG folders in tmp_path,
so the developer's own keyring and session bus are never touched.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.serverhost import cannot_run, install

pytestmark = pytest.mark.without_database

TOOLS = {"gnome-keyring-daemon": "gnome-keyring", "dbus-run-session": "dbus"}
SECRET = "pw-via-secret-service-5e2b"

PROBE = f"""
import json, os
from deskterm.secrets.store import open_secret_store

out = {{}}
auto = open_secret_store()
out["auto"] = [auto.status.name, auto.status.kind, auto.status.reason]
auto.set("imap", {SECRET!r})
out["auto_get"] = auto.get("imap") == {SECRET!r}
os.environ["DESKTERM_SECRET_BACKEND"] = "keyring"
forced = open_secret_store()
out["forced"] = [forced.status.name, forced.status.kind]
out["forced_sees_it"] = forced.get("imap") == {SECRET!r}
forced.delete("imap")
forced.delete("imap")  # absent: no error
out["after_delete"] = forced.get("imap")
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def secret_service_tools(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Install gnome-keyring and dbus from Debian when missing; skip only when we cannot (fail
    under CI: `serverhost.cannot_run`)."""
    if not missing_packages():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        cannot_run(f"needs Debian packages {', '.join(missing_packages())} (install them as root)")
    install(missing_packages, tmp_path_factory.mktemp("secret-service") / "apt.log")


def missing_packages() -> list[str]:
    return sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("secret_service_tools")
def test_secret_store_uses_a_real_secret_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = tmp_path / "desk"
    monkeypatch.setenv("DESKTERM_HOME", str(desk))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DBUS_", "DESKTERM_", "KEYRING_", "PYTHON_KEYRING", "XDG_"))
    } | {
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_RUNTIME_DIR": str(runtime),
        "DESKTERM_HOME": str(desk),
    }
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    inner = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        f"exec {shlex.quote(sys.executable)} {shlex.quote(str(probe))}"
    )
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", inner],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    name, kind, reason = result["auto"]
    assert (name, kind) == ("SecretService.Keyring", "keyring"), reason
    assert result["auto_get"] is True
    assert result["forced"] == ["SecretService.Keyring", "keyring"]
    assert result["forced_sees_it"] is True
    assert result["after_delete"] is None
    assert not (desk / "vault.bin").exists()
    # The secret went to gnome-keyring's own (encrypted) file under tmp_path, not in clear.
    keyrings = list((tmp_path / "data" / "keyrings").glob("*.keyring"))
    assert keyrings
    assert all(SECRET.encode() not in file.read_bytes() for file in keyrings)
