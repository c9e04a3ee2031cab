"""scripts/install runs uv (and through it pip and build backends): none of them is handed
the secrets deskterm keeps from its own helper processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from deskterm import process

ROOT = Path(__file__).resolve().parents[2]


def test_install_hands_uv_no_secret(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    fake = tmp_path / "bin" / "uv"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nenv >> "{seen}"\n')  # a uv that only says what it was given
    fake.chmod(0o755)
    secrets = {name: f"secret-{name.lower()}" for name in process.SECRET_ENV}
    env = {**os.environ, **secrets, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(ROOT / "scripts" / "install")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    given = seen.read_text()
    assert "PATH=" in given  # uv did run
    assert [name for name, value in secrets.items() if value in given] == []
