"""Shell completion for bash, zsh and fish: click's own, installed by one command (issue 14)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deskterm.cli.main import main
from tests.conftest import Desk


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_printed_script_is_clicks_own(desk: Desk, shell: str) -> None:
    """The script `_DESKTERM_COMPLETE=<shell>_source deskterm` prints, byte for byte."""
    printed = desk.run("completion", shell).stdout
    env = {"_DESKTERM_COMPLETE": f"{shell}_source"}
    clicks = CliRunner().invoke(main, [], prog_name="deskterm", env=env)
    assert clicks.exit_code == 0
    assert printed == clicks.stdout
    assert "_DESKTERM_COMPLETE" in printed and "deskterm" in printed


def test_an_unknown_shell_is_refused_with_the_choices(desk: Desk) -> None:
    result = desk.run("completion", "tcsh", ok=False)
    assert result.exit_code == 2
    assert "bash" in result.output and "fish" in result.output


def complete(*words: str) -> list[str]:
    """What click answers bash's Tab after `words` (the last one being completed): one
    `type,value` per line (a value may hold spaces: "plain,Harbour Logistics")."""
    env = {
        "_DESKTERM_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(["deskterm", *words]),
        "COMP_CWORD": str(len(words)),
    }
    result = CliRunner().invoke(main, [], prog_name="deskterm", env=env)
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line]


def test_clicks_completion_answers_subcommands() -> None:
    assert complete("chan") == ["plain,channel"]
    assert complete("channel", "ex") == ["plain,example"]
    assert complete("completion", "f") == ["plain,fish"]


def _deskterm_on_path(tmp_path: Path) -> dict[str, str]:
    """The environment with this checkout's `deskterm` command (the venv's) first on PATH."""
    exe = Path(sys.executable).parent / "deskterm"
    assert exe.exists(), "the project is not installed in its venv"
    return {**os.environ, "PATH": f"{exe.parent}{os.pathsep}{os.environ['PATH']}"}


def _in_shell(desk: Desk, tmp_path: Path, shell: str, argv: list[str]) -> list[str]:
    """What `argv` prints, in words; `{script}` in it is the file of the printed script."""
    script = tmp_path / f"deskterm.{shell}"
    script.write_text(desk.run("completion", shell).stdout)
    done = subprocess.run(
        [part.format(script=script) for part in argv],
        env=_deskterm_on_path(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_a_subcommand_through_the_installed_script(
    desk: Desk, tmp_path: Path
) -> None:
    """The script sourced into a real bash, its function called as bash calls it on Tab."""
    line = (
        "source {script}; COMP_WORDS=(deskterm chan); COMP_CWORD=1; "
        '_deskterm_completion deskterm; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    assert _in_shell(desk, tmp_path, "bash", ["bash", "--norc", "--noprofile", "-c", line]) == [
        "channel"
    ]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_a_subcommand_through_the_installed_script(
    desk: Desk, tmp_path: Path
) -> None:
    line = "source {script}; complete -C 'deskterm chan'"
    assert _in_shell(desk, tmp_path, "fish", ["fish", "--no-config", "-c", line])[0] == "channel"
