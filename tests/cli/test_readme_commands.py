"""The README's commands work as written in a fresh shell after the two set-up commands, and
`scripts/install` puts `deskterm` on PATH (issue 14: `uv run deskterm ...` failed with `uv:
command not found`, uv having gone to ~/.local/bin)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from textual.binding import Binding

from deskterm.cli.main import main
from tests.conftest import Desk

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"


def sh_lines() -> list[str]:
    """Every command line of the README's ```sh blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    return [
        line.split("  #")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def fresh_shell(command: str, home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`command` in a login shell with nothing of ours in its environment, as a new terminal
    has it (only the machine's CA file passes, for a machine behind a proxy)."""
    keep = {k: os.environ[k] for k in ("SSL_CERT_FILE", "UV_CACHE_DIR") if k in os.environ}
    return subprocess.run(
        [
            "env",
            "-i",
            f"HOME={home}",
            "SHELL=/bin/bash",
            "PATH=/usr/bin:/bin",
            *(f"{k}={v}" for k, v in {**keep, **env}.items()),
            "bash",
            "-lc",
            command,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )


def test_every_readme_command_starts_with_a_script_of_the_checkout() -> None:
    """Not `uv run ...`: uv is not on a fresh shell's PATH."""
    lines = sh_lines()
    assert len(lines) > 20
    for line in lines:
        program = line.split()[0]
        assert program.startswith("scripts/") or program == "mkdir", line
        if program.startswith("scripts/"):
            assert os.access(ROOT / program, os.X_OK), line


def test_every_readme_deskterm_command_exists() -> None:
    checked = 0
    for line in sh_lines():
        for part in line.split("&&"):
            words = shlex.split(part.split(";")[0].split(">")[0])
            if words[0] != "scripts/deskterm":
                continue
            checked += 1
            command: click.Command = main
            for word in words[1:]:
                if not isinstance(command, click.Group) or word.startswith(("-", "[")):
                    break
                assert word in command.commands, line
                command = command.commands[word]
    assert checked > 20  # the README's commands were found, not skipped


def test_readme_sla_add_lines_run_on_the_demo_desk(desk: Desk, demo_desk: None) -> None:
    """Each `sla add` the README shows succeeds as written (issue 16: `--resolution 2d` was
    refused), on the demo desk, each policy removed before the next so none overlaps."""
    lines = [line for line in sh_lines() if line.startswith("scripts/deskterm sla add ")]
    assert lines
    for line in lines:
        words = shlex.split(line)[1:]
        assert desk.run(*words).output.startswith(f"SLA policy {words[2]} added"), line
        desk.run("sla", "remove", words[2], "--yes")


def test_scripts_deskterm_runs_in_a_fresh_shell_from_any_folder(tmp_path: Path) -> None:
    """With the user's own folder kept: a relative --file is read from there."""
    desk = tmp_path / "desk"
    work = tmp_path / "work"
    work.mkdir()
    script = ROOT / "scripts" / "deskterm"
    done = fresh_shell(
        f"{script} channel example > channel.toml && {script} channel add --file channel.toml",
        Path.home(),
        work,
        DESKTERM_HOME=str(desk),
        DESKTERM_SECRET_BACKEND="vault",
    )
    assert done.returncode == 0, done.stderr
    assert "Channel 'support' added" in done.stdout
    assert (desk / "desk.sqlite3").exists()


def test_scripts_install_puts_deskterm_on_a_fresh_shells_path(tmp_path: Path) -> None:
    """On a home where the set-up commands left uv in ~/.local/bin and nothing on PATH."""
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed here")
    home = tmp_path / "home"
    (home / ".local/bin").mkdir(parents=True)
    shutil.copy(uv, home / ".local/bin/uv")
    (home / ".profile").write_text("[ -f ~/.bashrc ] && . ~/.bashrc\n")
    (home / ".bashrc").write_text("")
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True).stdout.strip()
    installed = fresh_shell(str(ROOT / "scripts" / "install"), home, tmp_path, UV_CACHE_DIR=cache)
    assert installed.returncode == 0, installed.stderr
    done = fresh_shell("command -v deskterm && deskterm --help", home, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(home / ".local/bin/deskterm")
    assert "DESKTERM_HOME" in done.stdout


def keys_table() -> dict[str, str]:
    """The README's keys table: each screen's row by the screen's name."""
    text = README.read_text()
    table = text[text.index("| screen | keys |") :].split("\n\n")[0].splitlines()[2:]
    rows = [line.split(" | ", 1) for line in table]
    names = [name.lstrip("| ") for name, _ in rows]
    assert len(names) == len(set(names)), "a screen has two rows"
    return {name.lstrip("| "): keys for name, keys in rows}


def test_readme_keys_table_has_one_row_per_screen_naming_its_letter_keys() -> None:
    """Issue 16: old rows of the list and the thread stayed beside new ones and contradicted
    them. Each letter key the list and the thread bind is named in its row (or everywhere's)."""
    from deskterm.screens.conversations import ConversationsScreen
    from deskterm.screens.thread import ThreadScreen

    rows = keys_table()
    for screen, name in ((ConversationsScreen, "list"), (ThreadScreen, "thread")):
        said = rows[name] + rows["everywhere"] + rows["triage (list and thread)"]
        said += rows["macros (list and thread)"]
        for binding in screen.BINDINGS:
            assert isinstance(binding, Binding)
            for key in binding.key.split(","):
                if len(key) == 1 and key.isalpha():  # digits are written as `1`-`5`
                    assert f"`{key}`" in said, (name, key)
