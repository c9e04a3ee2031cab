"""The `deskterm` command: the same engine the UI drives, for admins and scripts.

Every failure a user can cause or meet ends as one sentence on stderr and exit status 1;
anything else is a bug and says so in one line (with the traceback only under DESKTERM_DEBUG).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deskterm import channel_config, channels, db
from deskterm.errors import DeskError
from deskterm.steps import StepResult

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DeskError as exc:
            click.echo(f"deskterm: {exc}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("deskterm: interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("DESKTERM_DEBUG"):
                raise
            click.echo(
                f"deskterm: unexpected error ({type(exc).__name__}); this is a bug, please "
                "report it, and set DESKTERM_DEBUG=1 to see the details.",
                err=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def open_desk() -> None:
    db.open_database()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(invoke_without_command=True)
@click.version_option(package_name="deskterm")
@click.pass_context
def main(ctx: click.Context) -> None:
    """deskterm: a helpdesk in the terminal. Without a command, opens the desk."""
    if ctx.invoked_subcommand is None:
        from deskterm.app import run_app

        handle_errors(run_app)()


# --- channels -----------------------------------------------------------------------------


@main.group()
def channel() -> None:
    """Define, inspect and test email channels."""


@channel.command("add")
@click.option("--file", "file", required=True, type=click.Path(path_type=Path))
@handle_errors
def channel_add(file: Path) -> None:
    """Add a channel from a TOML file (keys in README.md)."""
    config = channel_config.parse_channel_file(file)
    open_desk()
    channels.add(config)
    click.echo(
        f"Channel {config['name']!r} added ({config['status']}). Set its password with "
        f"`deskterm channel secret {config['name']} --inbound --stdin`, then run "
        f"`deskterm channel test {config['name']}`."
    )


@channel.command("edit")
@click.argument("name")
@click.option("--file", "file", required=True, type=click.Path(path_type=Path))
@handle_errors
def channel_edit(name: str, file: Path) -> None:
    """Replace a channel's settings with those in a TOML file."""
    config = channel_config.parse_channel_file(file)
    open_desk()
    channels.edit(name, config)
    click.echo(f"Channel {config['name']!r} updated.")


@channel.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def channel_remove(name: str, yes: bool) -> None:
    """Remove a channel, its conversations and its stored secrets."""
    open_desk()
    channel_row = channels.get(name)
    count = channel_row.conversations.count()
    if not yes:
        if not sys.stdin.isatty():
            raise DeskError(f"Removing {name!r} needs confirmation; add --yes to confirm.")
        click.confirm(
            f"Remove channel {name!r} and its {count} conversations?", abort=True, default=False
        )
    channels.remove(name, store=_store_or_none())
    click.echo(f"Channel {name!r} removed.")


@channel.command("list")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def channel_list(as_json: bool) -> None:
    """List channels."""
    open_desk()
    rows = channels.all_channels()
    if as_json:
        echo_json([channels.describe(c) for c in rows])
        return
    if not rows:
        click.echo("No channels yet; add one with `deskterm channel add --file channel.toml`.")
    for row in rows:
        inbound = row.settings["inbound"]
        click.echo(
            f"{row.name:<20} {row.status:<9} {inbound['protocol']} "
            f"{inbound['username']}@{inbound['host']}:{inbound['port']}"
        )


@channel.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def channel_show(name: str, as_json: bool) -> None:
    """Show one channel's settings (never its secrets)."""
    open_desk()
    data = channels.describe(channels.get(name))
    if as_json:
        echo_json(data)
        return
    _print_tree(data)


def _print_tree(data: dict[str, Any], indent: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{indent}{key}:")
            _print_tree(value, indent + "  ")
        else:
            click.echo(f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}")


@channel.command("secret")
@click.argument("name")
@click.option("--inbound", "side", flag_value="inbound", help="The mailbox (IMAP/POP3) password.")
@click.option("--outbound", "side", flag_value="outbound", help="The SMTP password.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from standard input.")
@handle_errors
def channel_secret(name: str, side: str | None, from_stdin: bool) -> None:
    """Store a channel's password in the secret store (never on the command line)."""
    if side is None:
        raise DeskError("Say which password this is with --inbound or --outbound.")
    open_desk()
    channel_row = channels.get(name)
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        secret = click.prompt(
            f"{side} password for {name}", hide_input=True, confirmation_prompt=True
        )
    else:
        raise DeskError("No terminal to ask on; pipe the secret in with --stdin.")
    if not secret:
        raise DeskError("The secret is empty; nothing was stored.")
    store = _store()
    store.set(channels.secret_key(channel_row, side), secret)
    click.echo(f"The {side} password of {name!r} is stored ({store.status.name}).")


@channel.command("test")
@click.argument("name")
@click.option("--send-to", help="Also send a test email to this address.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def channel_test(name: str, send_to: str | None, as_json: bool) -> None:
    """Test a channel step by step: connect, TLS, login, folders, SMTP, AUTH."""
    from deskterm import conntest

    open_desk()
    channel_row = channels.get(name)
    store = _store()
    results = conntest.run(
        channel_row, store, send_to=send_to, on_step=None if as_json else _print_step
    )
    ok = bool(results) and all(r.ok for r in results)
    if as_json:
        echo_json({"channel": name, "ok": ok, "steps": [dataclasses.asdict(r) for r in results]})
    else:
        click.echo("All steps passed." if ok else "The test failed.")
    sys.exit(0 if ok else 1)


def _print_step(result: StepResult) -> None:
    mark = "PASS" if result.ok else "FAIL"
    click.echo(f"{mark}  {result.name:<22} {result.seconds * 1000:7.0f} ms  {result.detail}")
    if result.warning:
        click.echo(f"WARN  {result.name:<22}             {result.warning}")


@channel.command("trust")
@click.argument("name")
@click.option("--inbound", "sides", flag_value="inbound", multiple=True)
@click.option("--outbound", "sides", flag_value="outbound", multiple=True)
@click.option("--yes", is_flag=True, help="Trust what the server presents without asking.")
@handle_errors
def channel_trust(name: str, sides: tuple[str, ...], yes: bool) -> None:
    """Pin the certificate a self-signed server presents now (after it changed)."""
    from deskterm import conntest

    open_desk()
    channel_row = channels.get(name)
    for side in sides or tuple(s for s in channels.SIDES if channel_row.settings.get(s)):
        seen = conntest.presented_fingerprint(channel_row, side)
        pinned = getattr(channel_row, f"{side}_pin")
        click.echo(f"{side}: the server presents SHA-256 {seen}")
        click.echo(f"{side}: pinned until now:       {pinned or '(nothing)'}")
        if seen == pinned:
            click.echo(f"{side}: already trusted.")
            continue
        if not yes:
            if not sys.stdin.isatty():
                raise DeskError("Trusting a certificate needs confirmation; add --yes to confirm.")
            click.confirm(f"Trust this {side} certificate?", abort=True, default=False)
        channels.trust(channel_row, side, seen)
        click.echo(f"{side}: certificate pinned.")


# --- secrets ------------------------------------------------------------------------------


@main.group()
def secrets() -> None:
    """Where passwords and tokens are kept."""


@secrets.command("status")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def secrets_status(as_json: bool) -> None:
    """Say which secret backend is in use, and why."""
    status = _store().status  # choosing a backend never unlocks the vault
    if as_json:
        echo_json(dataclasses.asdict(status))
    else:
        click.echo(f"backend: {status.name}\n{status.reason}")


def _store() -> Any:
    from deskterm.secret_store import open_secret_store

    return open_secret_store()


def _store_or_none() -> Any | None:
    try:
        return _store()
    except DeskError as exc:
        click.echo(f"deskterm: the channel's secrets were left in place: {exc}", err=True)
        return None


if __name__ == "__main__":
    main()
