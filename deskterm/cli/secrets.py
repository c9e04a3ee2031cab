"""`deskterm secrets ...`: where passwords and tokens are kept; the store every command opens."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.errors import DeskError


def secret_store() -> Any:
    """The secret store, imported only by the commands that need one."""
    from deskterm.secrets.store import open_secret_store

    return open_secret_store()


def read_secret(prompt: str, from_stdin: bool) -> str:
    """A secret typed without echo (twice, to catch typos) on a terminal, or the first line of
    standard input with --stdin: never an argument, which other users see in the process
    list. What `channel secret` and `db password` both read."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))
    raise DeskError("No terminal to ask on; pipe the secret in with --stdin.")


@click.group("secrets")
def secrets() -> None:
    """Where passwords and tokens are kept."""


@secrets.command("status")
@json_option
@handle_errors
def secrets_status(as_json: bool) -> None:
    """Say which secret backend is in use, and why."""
    status = secret_store().status  # choosing a backend never unlocks the vault
    if as_json:
        echo_json(dataclasses.asdict(status))
    else:
        say(f"backend: {status.name}\n{status.reason}")
