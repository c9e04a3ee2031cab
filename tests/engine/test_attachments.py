"""Attachments out of the desk: safe file names, saving without clobbering, the opener."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deskterm import paths
from deskterm.demo import desk as demo
from deskterm.desk import attachments
from deskterm.desk.attachments import FileExists, default_save_path, safe_filename
from deskterm.errors import ConfigError, NotFound
from deskterm.store import blobs

INVOICE = 3  # the demo conversation with INV-2024-0312.pdf


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../etc/passwd", "_._etc_passwd"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("..", "attachment"),
        (".", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        (".bashrc", "bashrc"),
        ("in\x1b]52;c;aGk=\x07voice.pdf", "in]52;c;aGk=voice.pdf"),
        ("line\nbreak\r\n.pdf", "line break .pdf"),
        ("\u202egnp.exe", "gnp.exe"),
        ("report.pdf", "report.pdf"),
        ("invoice.pdf" + "\u3164" * 40 + ".desktop", "invoice.pdf.desktop"),
        ("invoice.pdf\u2800\u2800\u2800   .desktop", "invoice.pdf .desktop"),
        ("bill\u200b\u2060\u00ad\U000e0041.pdf", "bill.pdf"),
        ("a\u2028b.pdf", "a b.pdf"),
        ("run.exe. . ", "run.exe"),
        ('what?"<*>|.pdf', "what______.pdf"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("nul .pdf", "_nul .pdf"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("prn", "_prn"),
        ("COM1.doc", "_COM1.doc"),
        ("lpt9", "_lpt9"),
        ("console.txt", "console.txt"),
        ("com10.txt", "com10.txt"),
    ],
)
def test_hostile_names_become_one_plain_file_name(hostile: str, expected: str) -> None:
    name = safe_filename(hostile)
    assert name == expected
    assert "/" not in name and ".." not in name and not name.startswith(".")
    assert all(ch >= " " and ch != "\x7f" for ch in name)


def test_a_very_long_name_is_cut_but_keeps_its_extension() -> None:
    name = safe_filename("é" * 500 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode()) <= attachments.MAX_NAME_BYTES
    assert safe_filename("x" * 1000) == "x" * attachments.MAX_NAME_BYTES


def test_the_default_path_is_the_download_dir_or_downloads_or_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    assert default_save_path("../a.pdf") == home / "_a.pdf"  # never the working directory
    (home / "Downloads").mkdir()
    assert default_save_path("a/b.pdf") == home / "Downloads" / "a_b.pdf"
    (home / ".config").mkdir()
    (home / "Hämtningar").mkdir()  # the XDG download dir, as xdg-user-dirs-update writes it
    (home / ".config" / "user-dirs.dirs").write_text('XDG_DOWNLOAD_DIR="$HOME/Hämtningar"\n')
    assert default_save_path("c.pdf") == home / "Hämtningar" / "c.pdf"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(cwd))
    assert default_save_path("d.pdf") == cwd / "d.pdf"  # the variable wins, as for xdg-user-dir


@pytest.fixture
def invoice() -> attachments.StoredAttachment:
    demo.build_demo(now=demo.ANCHOR)
    (found,) = attachments.of_conversation(INVOICE)
    return found


def test_the_conversation_lists_its_attachment(invoice: attachments.StoredAttachment) -> None:
    assert invoice.filename == "INV-2024-0312.pdf"
    assert invoice.content_type == "application/pdf"
    assert invoice.message_index == 0


def test_save_writes_the_stored_bytes(
    invoice: attachments.StoredAttachment, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "saved.pdf"
    assert attachments.save(invoice.sha256, target) == target
    assert target.read_bytes() == blobs.attachment_path(invoice.sha256).read_bytes()
    assert target.stat().st_size == invoice.size
    assert [p.name for p in out.iterdir()] == ["saved.pdf"]  # no temporary left over


def test_save_refuses_to_overwrite_unless_confirmed(
    invoice: attachments.StoredAttachment, tmp_path: Path
) -> None:
    target = tmp_path / "saved.pdf"
    target.write_bytes(b"mine")
    with pytest.raises(FileExists):
        attachments.save(invoice.sha256, target)
    assert target.read_bytes() == b"mine"
    attachments.save(invoice.sha256, target, overwrite=True)
    assert target.read_bytes() == blobs.attachment_path(invoice.sha256).read_bytes()


def test_save_refuses_a_directory_a_missing_directory_and_a_missing_blob(
    invoice: attachments.StoredAttachment, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError):
        attachments.save(invoice.sha256, tmp_path)
    with pytest.raises(ConfigError):
        attachments.save(invoice.sha256, tmp_path / "nowhere" / "x.pdf")
    with pytest.raises(NotFound):
        attachments.save("0" * 64, tmp_path / "x.pdf")
    with pytest.raises(NotFound):
        attachments.save("../../etc/passwd", tmp_path / "x.pdf")


def test_opening_without_an_opener_says_so(
    invoice: attachments.StoredAttachment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachments.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="no system opener"):
        attachments.open_with_system(invoice.sha256, invoice.filename)


def test_opening_runs_the_opener_detached_without_a_shell(
    invoice: attachments.StoredAttachment, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], dict[str, object]]] = []
    monkeypatch.setattr(attachments.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(
        attachments.subprocess, "Popen", lambda args, **kw: calls.append((args, kw))
    )
    path = attachments.open_with_system(invoice.sha256, "../x.pdf")
    ((args, options),) = calls
    assert args == ["/usr/bin/xdg-open", str(path)]
    assert path.name == "_x.pdf" and options["start_new_session"] is True
    assert "shell" not in options
    assert path.read_bytes() == blobs.attachment_path(invoice.sha256).read_bytes()


@pytest.fixture
def fake_opener(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(attachments.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(attachments.subprocess, "Popen", lambda args, **kw: calls.append(args))
    monkeypatch.setattr(attachments, "_own", None)
    monkeypatch.setattr(attachments.atexit, "register", lambda f: None)
    return calls


def test_opened_copies_live_in_the_desk_and_go_when_the_process_ends(
    invoice: attachments.StoredAttachment, fake_opener: list[list[str]]
) -> None:
    first = attachments.open_with_system(invoice.sha256, invoice.filename)
    second = attachments.open_with_system(invoice.sha256, invoice.filename)
    opened = paths.home() / "opened"
    assert first.is_file() and second.is_file() and first != second
    assert first.is_relative_to(opened) and second.is_relative_to(opened)
    assert oct(opened.stat().st_mode & 0o777) == "0o700"
    attachments.remove_opened_copies()  # what the process does at exit
    assert not first.exists() and not second.exists()
    assert list(opened.iterdir()) == []


def dead_pid() -> int:
    """A process id no process has now (from the top, where ids are rarely in use)."""
    for pid in range(int(Path("/proc/sys/kernel/pid_max").read_text()) - 1, 1, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("every process id is taken")


def test_copies_left_by_a_dead_process_go_at_the_next_open_but_a_live_ones_stay(
    invoice: attachments.StoredAttachment, fake_opener: list[list[str]]
) -> None:
    opened = attachments.opened_dir()
    dead = dead_pid()
    left = opened / str(dead) / "tmpabc" / "old.pdf"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"customer data")
    live = opened / str(os.getppid()) / "tmpdef" / "theirs.pdf"
    live.parent.mkdir(parents=True)
    live.write_bytes(b"another desk process still shows this")
    path = attachments.open_with_system(invoice.sha256, invoice.filename)
    assert not (opened / str(dead)).exists()
    assert live.is_file() and path.is_file()
    attachments.remove_opened_copies()
    assert live.is_file() and not path.exists()


def test_the_process_registers_the_removal_at_exit(
    invoice: attachments.StoredAttachment,
    fake_opener: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[object] = []
    monkeypatch.setattr(attachments.atexit, "register", registered.append)
    attachments.open_with_system(invoice.sha256, invoice.filename)
    attachments.open_with_system(invoice.sha256, invoice.filename)
    assert registered == [attachments.remove_opened_copies]
    attachments.remove_opened_copies()
