"""`deskterm --help` is enough on its own: a pip user has no README (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator

import click

from deskterm.cli.main import main
from tests.conftest import Desk


def _commands(
    command: click.Command, path: str = "deskterm"
) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{path} {'/'.join(param.opts)}"
        for path, command in _commands(main)
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert missing == []


def test_every_command_says_what_it_does() -> None:
    assert [path for path, command in _commands(main) if not command.help] == []


def test_help_names_the_environment_it_reads(desk: Desk) -> None:
    text = desk.run("--help").output
    assert "DESKTERM_HOME" in text
    assert "DESKTERM_PASSPHRASE" in text


def test_no_help_sends_the_reader_to_a_readme(desk: Desk) -> None:
    """An installed deskterm has no README beside it: `channel add --help` names the command
    that prints a channel file instead."""
    for path, _ in _commands(main):
        text = desk.run(*path.split()[1:], "--help").output
        assert "README" not in text, path
    assert "deskterm channel example" in desk.run("channel", "add", "--help").output
