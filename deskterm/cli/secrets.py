"""`deskterm secrets ...`: where passwords and tokens are kept; the store every command opens."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, say


def secret_store() -> Any:
    """The secret store, imported only by the commands that need one."""
    from deskterm.secrets.store import open_secret_store

    return open_secret_store()


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
