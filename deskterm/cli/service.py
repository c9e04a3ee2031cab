"""`deskterm service install|unit`: the worker (`deskterm poll`) as a systemd service.

The unit's content and why each line is there live in engine.service_unit; this module only
takes the options, writes or prints, and says what to run next.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from deskterm.cli.console import handle_errors, say

F = Callable[..., Any]


def unit_options(func: F) -> F:
    """The options that shape the unit, shared by `install` and `unit`."""
    options = [
        click.option(
            "--user",
            "user_unit",
            is_flag=True,
            help="A user unit (~/.config/systemd/user) run by your own systemd, not a system one.",
        ),
        click.option(
            "--passphrase-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A root-only file holding the vault's passphrase, given to the service as a "
            "systemd credential (LoadCredential=) rather than written into the unit.",
        ),
        click.option(
            "--watchdog",
            type=int,
            default=300,
            show_default=True,
            help="Seconds without a sign of life from the worker's loop before systemd "
            "restarts it (WatchdogSec=).",
        ),
        click.option(
            "--run-as",
            help="The user a system unit runs as (default: the owner of the desk's home).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group("service")
def service() -> None:
    """Run the worker (`deskterm poll`) as a systemd service: readiness, a watchdog, restart
    on failure, logs in the journal."""


@service.command("install")
@unit_options
@click.option(
    "--path",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the unit here instead of systemd's folder (to review it, or copy it as root).",
)
@click.option("--force", is_flag=True, help="Replace a different unit already there.")
@handle_errors
def install(
    user_unit: bool,
    passphrase_file: Path | None,
    watchdog: int,
    run_as: str | None,
    target: Path | None,
    force: bool,
) -> None:
    """Write the systemd unit that runs `deskterm poll` for this desk (DESKTERM_HOME and the
    settings set now), and print the systemctl commands to run next. The unit holds no
    secret: on a server whose secrets are in the vault, write the passphrase into a file only
    root can read (`install -D -m 0600 /dev/stdin /etc/deskterm/passphrase`) and give
    --passphrase-file with it."""
    from deskterm.engine import service_unit

    unit = service_unit.plan(
        user_unit=user_unit, passphrase_file=passphrase_file, watchdog=watchdog, run_as=run_as
    )
    path = target or service_unit.default_path(user_unit)
    if service_unit.install(path, service_unit.render(unit), force=force):
        say(f"Wrote {path}: `deskterm poll` for the desk in {unit.environment['DESKTERM_HOME']}.")
    else:
        say(f"The same unit is already at {path}; nothing was written.")
    _warn_about_the_vault(unit)
    say("Next:")
    for step in service_unit.next_steps(unit, path):
        say(f"  {step}")


@service.command("unit")
@unit_options
@handle_errors
def unit(user_unit: bool, passphrase_file: Path | None, watchdog: int, run_as: str | None) -> None:
    """Print the unit `service install` would write, without writing it."""
    from deskterm.engine import service_unit

    planned = service_unit.plan(
        user_unit=user_unit, passphrase_file=passphrase_file, watchdog=watchdog, run_as=run_as
    )
    click.echo(service_unit.render(planned), nl=False)


def _warn_about_the_vault(unit: Any) -> None:
    """A desk whose secrets are in the vault cannot start unattended without its passphrase."""
    from deskterm import paths

    if unit.passphrase_file is None and (paths.home_location() / "vault.bin").exists():
        say(
            "Warning: this desk's secrets are in the vault, and the service cannot ask for its "
            "passphrase; install again with --passphrase-file FILE (a root-only file holding it).",
            err=True,
        )
