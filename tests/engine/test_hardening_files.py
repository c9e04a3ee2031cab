"""A desk's files are its owner's alone (issue 10, finding 9).

The home is 0700 and everything deskterm writes under it is 0600, whatever the user's umask: the
database with SQLite's -wal/-shm/-journal files, raw mail and packs, attachments, the vault and
drafts. A home that others can already read or write is refused with what to do.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskterm import paths
from deskterm.outbound import drafts
from deskterm.secrets.vault import VaultKeyring
from deskterm.store import blobs, connection, migrations
from deskterm.store.models import Channel
from tests.conftest import Desk


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most users have (0022): files would be world-readable without deskterm's care."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(home: Path) -> dict[str, str]:
    """Every entry under home (and home itself) with its permission bits, in octal."""
    found = {".": oct(stat.S_IMODE(home.stat().st_mode))}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def not_private(home: Path) -> dict[str, str]:
    """Entries whose mode is not 0700 (folders) or 0600 (files)."""
    wrong = {}
    for name, mode in modes(home).items():
        expected = "0o700" if (home / name).is_dir() else "0o600"
        if mode != expected:
            wrong[name] = mode
    return wrong


@pytest.mark.usefixtures("usual_umask")
def test_a_desk_built_by_the_command_is_owner_only(tmp_path: Path) -> None:
    """The real command in its own process: database, raw mail, attachments, log."""
    home = tmp_path / "new-desk"
    done = subprocess.run(
        [sys.executable, "-m", "deskterm.cli.main", "demo", "--no-ui", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = modes(home)
    assert "desk.sqlite3" in names
    assert any(name.startswith("mail/") and "/" in name[5:] for name in names)
    assert any(name.startswith("attachments/") and "/" in name[12:] for name in names)
    assert not_private(home) == {}


@pytest.mark.sqlite_only("the desk's file with its -wal/-shm files and its upgrade backup")
@pytest.mark.usefixtures("usual_umask")
def test_every_file_the_engine_writes_is_owner_only(desk_home: Path) -> None:
    """Without the command's process-wide umask too (the engine used as a library)."""
    database = connection.open_database()
    channel = Channel.create(name="support", settings={"name": "support"})
    assert (desk_home / "desk.sqlite3-wal").exists() and (desk_home / "desk.sqlite3-shm").exists()
    migrations.backup_before_upgrade(database, 1)  # a copy of the whole desk, journal and all
    blobs.store_raw(b"Subject: one\r\n\r\nbody\r\n")
    blobs.store_pack([b"Subject: two\r\n\r\nbody\r\n", b"Subject: three\r\n\r\nbody\r\n"])
    blobs.store_attachment(b"%PDF-1.4 invoice\n")
    VaultKeyring().set_password("deskterm", "channel:support:inbound", "mailbox-password")
    drafts.save(drafts.Draft(conversation_id=channel.id, body="Dear customer,"))
    names = modes(desk_home)
    for name in ("desk.sqlite3-wal", "desk.sqlite3-shm", "desk.sqlite3.v1.bak", "vault.bin"):
        assert name in names
    assert any(name.startswith("mail/packs/") for name in names)
    assert any(name.startswith("drafts/") and name != "drafts" for name in names)
    assert not_private(desk_home) == {}


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o707, 0o770])
def test_a_home_others_can_use_is_refused(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    home = tmp_path / f"shared-{mode:o}"
    home.mkdir()
    home.chmod(mode)
    monkeypatch.setenv("DESKTERM_HOME", str(home))
    result = desk.run("conversations", ok=False)
    assert result.exit_code == 1
    assert result.stderr == (
        f"deskterm: The desk's home {home} can be used by other users; make it private with "
        f"`chmod -R go-rwx {home}` and run deskterm again.\n"
    )
    assert list(home.iterdir()) == []  # nothing was written into it
    assert stat.S_IMODE(home.stat().st_mode) == mode  # and nothing was changed behind its back


@pytest.mark.sqlite_only("the desk's file in the home shows that the home was used")
def test_a_private_existing_home_is_used(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "private"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("DESKTERM_HOME", str(home))
    assert desk.json("channel", "list") == []
    assert paths.home() == home and (home / "desk.sqlite3").exists()
