"""Every test runs on a throwaway desk: its own DESKTERM_HOME, vault and passphrase."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskterm import db

# pytest_plugins = ["tests.mailservers"]  # enabled once the fixture lands


@pytest.fixture(autouse=True)
def desk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "desk"
    monkeypatch.setenv("DESKTERM_HOME", str(home))
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "vault")
    monkeypatch.setenv("DESKTERM_PASSPHRASE", secrets.token_urlsafe(12))
    monkeypatch.delenv("DESKTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DESKTERM_DEBUG", raising=False)
    yield home
    db.close_database()
