"""DESKTERM_BLOB_DIR: raw mail and attachments in a directory a team shares (with a group,
never with everyone), refused in one sentence when it cannot be that."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from deskterm import paths
from deskterm.errors import ConfigError
from deskterm.store import blobs

pytestmark = pytest.mark.without_database


def test_files_go_to_the_blob_dir_with_its_group_read_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, desk_home: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o2750)
    monkeypatch.setenv("DESKTERM_BLOB_DIR", str(shared))
    ref = blobs.store_raw(b"Subject: hi\r\n\r\nbody\r\n")
    sha = blobs.store_attachment(b"attached bytes")
    written = shared / "mail" / ref
    assert written.read_bytes().startswith(b"Subject: hi")
    assert blobs.attachment_path(sha).parent.parent == shared / "attachments"
    assert not (desk_home / "mail").exists()
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o2750


def test_in_the_home_files_stay_owner_only(desk_home: Path) -> None:
    ref = blobs.store_raw(b"Subject: private\r\n\r\n")
    written = desk_home / "mail" / ref
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_blob_dir_everyone_may_enter_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "open"
    shared.mkdir()
    shared.chmod(0o755)
    monkeypatch.setenv("DESKTERM_BLOB_DIR", str(shared))
    with pytest.raises(ConfigError, match=f"chmod -R o-rwx {shared}"):
        paths.mail_dir()


def test_a_missing_blob_dir_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_BLOB_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="not a directory; make it"):
        paths.attachments_dir()
