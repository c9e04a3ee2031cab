"""`deskterm channel ...`: define, inspect, test and trust email channels."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import sys
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.channels.typed import ChannelConfig
from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.cli.secrets import read_secret, secret_store
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError

if TYPE_CHECKING:
    from deskterm.net.steps import StepResult


@click.group("channel")
def channel() -> None:
    """Define, inspect and test email channels."""


CHANNEL_FILE = click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path),
    help="The channel file (TOML; `deskterm channel example` prints one).",
)


@channel.command("example")
def channel_example() -> None:
    """Print a channel file with every key commented, to edit and pass to `channel add`:
    `deskterm channel example > channel.toml`."""
    click.echo(example_file(), nl=False)


def example_file() -> str:
    """The commented channel file shipped beside this module (the README shows the same)."""
    return resources.files("deskterm.cli").joinpath("channel_example.toml").read_text("utf-8")


@channel.command("add")
@CHANNEL_FILE
@handle_errors
def channel_add(file: Path) -> None:
    """Add a channel from a TOML file (`deskterm channel example` prints one to start from)."""
    config = channel_config.parse_channel_file(file)
    open_desk()
    channels.add(config)
    name = config["name"]
    if config["inbound"]["auth"] == "oauth2":
        first = f"Sign it in with `deskterm channel auth {name}`"
    else:
        first = f"Set its password with `deskterm channel secret {name} --inbound --stdin`"
    say(
        f"Channel {name!r} added ({config['status']}). {first}, then run "
        f"`deskterm channel test {name}`."
    )


@channel.command("edit")
@click.argument("name")
@CHANNEL_FILE
@handle_errors
def channel_edit(name: str, file: Path) -> None:
    """Replace a channel's settings with those in a TOML file."""
    config = channel_config.parse_channel_file(file)
    open_desk()
    channels.edit(name, config)
    say(f"Channel {config['name']!r} updated.")


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
    say(f"Channel {name!r} removed.")


def _store_or_none() -> Any | None:
    try:
        return secret_store()
    except DeskError as exc:
        say(f"deskterm: the channel's secrets were left in place: {exc}", err=True)
        return None


@channel.command("list")
@json_option
@handle_errors
def channel_list(as_json: bool) -> None:
    """List channels, and which machine's worker leads each."""
    from deskterm.channels import leaders

    open_desk()
    rows = channels.all_channels()
    leads = leaders.of_channels()
    if as_json:
        echo_json([{**channels.describe(c), "leader": leads[c.id]} for c in rows])
        return
    if not rows:
        say("No channels yet; add one with `deskterm channel add --file channel.toml`.")
    for row in rows:
        inbound = ChannelConfig.of(row).inbound
        say(
            f"{row.name:<20} {row.status:<9} {inbound.protocol} "
            f"{inbound.username}@{inbound.host}:{inbound.port}  "
            f"led by: {leaders.in_words(leads[row.id])}"
        )


@channel.command("show")
@click.argument("name")
@json_option
@handle_errors
def channel_show(name: str, as_json: bool) -> None:
    """Show one channel's settings (never its secrets) and which worker leads it."""
    from deskterm.channels import leaders, tokens

    open_desk()
    row = channels.get(name)
    data = channels.describe(row)
    data["leader"] = leaders.of_channel(row)
    if sign_ins := tokens.status(row):
        data["oauth2_sign_in"] = sign_ins
    if as_json:
        echo_json(data)
        return
    _print_tree(data)


def _print_tree(data: dict[str, Any], indent: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            say(f"{indent}{key}:")
            _print_tree(value, indent + "  ")
        else:
            say(f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}")


SECRET_KINDS = {
    "password": "password",
    "client_secret": "OAuth2 client secret",
    "refresh_token": "OAuth2 refresh token",
}


@channel.command("secret")
@click.argument("name")
@click.option("--inbound", "side", flag_value="inbound", help="The mailbox (IMAP/POP3) side.")
@click.option("--outbound", "side", flag_value="outbound", help="The SMTP side.")
@click.option(
    "--client-secret",
    "kind",
    flag_value="client_secret",
    help="The OAuth2 app's client secret (public clients have none).",
)
@click.option(
    "--refresh-token",
    "kind",
    flag_value="refresh_token",
    help="An OAuth2 refresh token obtained elsewhere (else use `channel auth`).",
)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from standard input.")
@handle_errors
def channel_secret(name: str, side: str | None, kind: str | None, from_stdin: bool) -> None:
    """Store a channel's password, or its OAuth2 client secret or refresh token, in the secret
    store (never on the command line). An OAuth2 secret belongs to the channel's [oauth2]
    table, or with --inbound/--outbound to that side's own table."""
    from deskterm.channels import authorize, tokens

    kind = kind or "password"
    if kind == "password" and side is None:
        raise DeskError("Say which password this is with --inbound or --outbound.")
    open_desk()
    channel_row = channels.get(name)
    settings = None if kind == "password" else tokens.sign_in_settings(channel_row, side)
    what = SECRET_KINDS[kind]
    secret = read_secret(f"{side or 'the'} {what} for {name}", from_stdin)
    if settings is not None:
        secret = secret.strip()  # pasted: a token or client secret never has spaces around
    if not secret:
        raise DeskError("The secret is empty; nothing was stored.")
    store = secret_store()
    if settings is None:
        assert side is not None
        store.set(channels.secret_key(channel_row, side), secret)
        say(f"The {side} password of {name!r} is stored ({store.status.name}).")
        return
    if kind == "refresh_token":
        authorize.store_refresh_token(channel_row, settings, store, secret)
    else:
        store.set(tokens.secret_of(channel_row, settings, kind), secret)
    table = "[oauth2]" if settings.owner == channels.OAUTH2 else f"[{settings.owner}.oauth2]"
    say(f"The {what} of {name!r} ({table}) is stored ({store.status.name}).")


@channel.command("auth")
@click.argument("name")
@click.option("--inbound", "side", flag_value="inbound", help="The [inbound.oauth2] table's.")
@click.option("--outbound", "side", flag_value="outbound", help="The [outbound.oauth2] table's.")
@handle_errors
def channel_auth(name: str, side: str | None) -> None:
    """Sign a channel in to its OAuth2 provider with a code entered in any browser (the
    device grant), and store the refresh token it gives."""
    from deskterm.channels import authorize
    from deskterm.net.oauth2 import OAuthError

    open_desk()
    channel_row = channels.get(name)
    store = secret_store()  # authorize.start makes it ready to write before asking for a code
    started = authorize.start(channel_row, store, side)
    device = started.device
    say(f"To sign in {name!r}, open {device.verification_uri} and enter the code:")
    say(f"    {device.user_code}")
    if device.verification_uri_complete:
        say(f"(or open {device.verification_uri_complete}, which carries the code)")
    if sys.stdout.isatty() and (
        picture := qr_code(device.verification_uri_complete or device.verification_uri)
    ):
        click.echo(picture, nl=False)  # block characters only: nothing to sanitise
    minutes = max(1, round((device.expires_at - time.time()) / 60))
    say(f"Waiting for the sign-in; the code expires in {minutes} min (Ctrl+C stops waiting).")
    waiting = Countdown(device.expires_at) if sys.stdout.isatty() else None
    try:
        token = authorize.finish(started, store, sleep=waiting or time.sleep)
    except OAuthError as exc:
        raise exc.with_advice(f"run `{started.command}` to try again") from None
    finally:
        if waiting is not None:
            waiting.clear()
    left = max(0, round((token.expires_at - time.time()) / 60))
    say(
        f"Signed in: the refresh token of {name!r} is stored ({store.status.name}); "
        f"the access token expires in {left} min and is renewed from it."
    )


def qr_code(url: str, columns: int | None = None) -> str | None:
    """The URL as a QR code drawn with half blocks (a phone's camera opens it), or None where
    the terminal is too narrow or cannot print the blocks."""
    import segno

    code = segno.make(url, error="l", micro=False)
    width, _ = code.symbol_size(border=2)
    columns = columns or shutil.get_terminal_size().columns
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    if width > columns or not "\u2580\u2584\u2588".encode(encoding, "ignore"):
        return None
    out = io.StringIO()
    code.terminal(out=out, compact=True, border=2)
    return out.getvalue()


class Countdown:
    """The time a device code has left, rewritten on one terminal line while polling waits."""

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at

    def __call__(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while (wait := until - time.monotonic()) > 0:
            left = max(0, int(self.expires_at - time.time()))
            click.echo(f"\rWaiting… {left // 60}:{left % 60:02d} left ", nl=False)
            time.sleep(min(1.0, wait))

    def clear(self) -> None:
        click.echo("\r" + " " * 24 + "\r", nl=False)


@channel.command("test")
@click.argument("name")
@click.option("--send-to", help="Also send a test email to this address.")
@json_option
@handle_errors
def channel_test(name: str, send_to: str | None, as_json: bool) -> None:
    """Test a channel step by step: connect, TLS, login, folders, SMTP, AUTH."""
    from deskterm.channels import check as conntest

    open_desk()
    channel_row = channels.get(name)
    store = secret_store()
    results = conntest.run(
        channel_row, store, send_to=send_to, on_step=None if as_json else _print_step
    )
    ok = bool(results) and all(r.ok for r in results)
    if as_json:
        echo_json({"channel": name, "ok": ok, "steps": [dataclasses.asdict(r) for r in results]})
    else:
        say("All steps passed." if ok else "The test failed.")
    sys.exit(0 if ok else 1)


def _print_step(result: StepResult) -> None:
    mark = "PASS" if result.ok else "FAIL"
    say(f"{mark}  {result.name:<22} {result.seconds * 1000:7.0f} ms  {result.detail}")
    if result.warning:
        say(f"WARN  {result.name:<22}             {result.warning}")


@channel.command("trust")
@click.argument("name")
@click.option(
    "--inbound",
    "sides",
    flag_value="inbound",
    multiple=True,
    help="The mailbox server's certificate.",
)
@click.option(
    "--outbound",
    "sides",
    flag_value="outbound",
    multiple=True,
    help="The SMTP server's certificate.",
)
@click.option("--yes", is_flag=True, help="Trust what the server presents without asking.")
@handle_errors
def channel_trust(name: str, sides: tuple[str, ...], yes: bool) -> None:
    """Pin the certificate a self-signed server presents now (after it changed)."""
    from deskterm.channels import check as conntest

    open_desk()
    channel_row = channels.get(name)
    for side in channels.trust_sides(channel_row, sides):
        found = conntest.presented(channel_row, side)
        say(f"{side}: the server presents SHA-256 {found.seen}")
        say(f"{side}: pinned until now:       {found.pinned or '(nothing)'}")
        if found.trusted:
            say(f"{side}: already trusted.")
            continue
        if not yes:
            if not sys.stdin.isatty():
                raise DeskError("Trusting a certificate needs confirmation; add --yes to confirm.")
            click.confirm(f"Trust this {side} certificate?", abort=True, default=False)
        channels.trust(channel_row, side, found.seen)
        say(f"{side}: certificate pinned.")
