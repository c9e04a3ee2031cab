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

from deskterm import process
from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.net.steps import StepResult
from deskterm.sanitize import clean, one_line, safe_json

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DeskError as exc:  # may quote mail (an address, a subject): one clean line
            say(f"deskterm: {one_line(str(exc))}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:  # `deskterm conversations | head`
            sys.stderr.close()
            sys.exit(0)
        except KeyboardInterrupt:
            say("deskterm: interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("DESKTERM_DEBUG"):
                raise
            say(
                f"deskterm: unexpected error ({type(exc).__name__}); this is a bug, please "
                "report it, and set DESKTERM_DEBUG=1 to see the details.",
                err=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def echo_json(data: Any) -> None:
    click.echo(safe_json(data))


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Every line the CLI prints, through the one sanitiser: what comes from mail or from a
    server (subjects, addresses, SMTP and IMAP replies, test details) never reaches the
    terminal with its control sequences."""
    click.echo(clean(text), err=err, nl=nl)


@click.group(invoke_without_command=True)
@click.version_option(package_name="deskterm")
@click.pass_context
def main(ctx: click.Context) -> None:
    """deskterm: a helpdesk in the terminal. Without a command, opens the desk."""
    process.harden_process()  # before anything is written or a secret is read (issue 10)
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
    say(
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
        say("No channels yet; add one with `deskterm channel add --file channel.toml`.")
    for row in rows:
        inbound = row.settings["inbound"]
        say(
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
            say(f"{indent}{key}:")
            _print_tree(value, indent + "  ")
        else:
            say(f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}")


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
    say(f"The {side} password of {name!r} is stored ({store.status.name}).")


@channel.command("test")
@click.argument("name")
@click.option("--send-to", help="Also send a test email to this address.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def channel_test(name: str, send_to: str | None, as_json: bool) -> None:
    """Test a channel step by step: connect, TLS, login, folders, SMTP, AUTH."""
    from deskterm.channels import check as conntest

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
        say("All steps passed." if ok else "The test failed.")
    sys.exit(0 if ok else 1)


def _print_step(result: StepResult) -> None:
    mark = "PASS" if result.ok else "FAIL"
    say(f"{mark}  {result.name:<22} {result.seconds * 1000:7.0f} ms  {result.detail}")
    if result.warning:
        say(f"WARN  {result.name:<22}             {result.warning}")


@channel.command("trust")
@click.argument("name")
@click.option("--inbound", "sides", flag_value="inbound", multiple=True)
@click.option("--outbound", "sides", flag_value="outbound", multiple=True)
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


# --- inbound ------------------------------------------------------------------------------


@main.command()
@click.option("--once", is_flag=True, help="Run one cycle and exit (non-zero if a channel failed).")
@click.option("--channel", "channel_name", help="Only this channel (with --once).")
@handle_errors
def poll(once: bool, channel_name: str | None) -> None:
    """Run the worker: fetch mail into conversations until stopped (Ctrl+C)."""
    import signal

    store = _store()
    store.unlock_ahead()  # the vault's key is derived while the rest starts up
    from deskterm.engine.worker import Flag, Worker

    open_desk()
    report = ProgressReport(sys.stderr.isatty())
    # A Flag, not a plain threading.Event: the signal handlers below set it (see Flag).
    worker = Worker(store=store, on_event=report, stop=Flag())
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: worker.request_stop())  # ends the sleep at once
    if not once:
        if channel_name:
            raise DeskError("--channel works with --once; the worker polls every active channel.")
        say("deskterm: polling; stop with Ctrl+C.", err=True)
        worker.run_forever()
        return
    try:
        # The same lock as the long-running worker, `deskterm send` and the app: a cron run
        # overlapping one of them is refused in one sentence instead of failing on the
        # database and counting toward the channel's max_tries.
        with worker.claim_desk(channel_name):
            runs = worker.run_once(channel_name)
    finally:
        worker.close()
    sys.exit(1 if any(run.error for run in runs) else 0)


class ProgressReport:
    """Worker events for a person: one live line on a terminal, plain log lines otherwise."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.started: dict[str, float] = {}

    def __call__(self, event: Any) -> None:
        import time

        if event.kind == "progress":
            key = f"{event.channel}/{event.folder}"
            start = self.started.setdefault(key, time.monotonic())
            rate = event.done / max(time.monotonic() - start, 1e-6)
            line = (
                f"{event.channel} {one_line(event.folder)}: {event.done}/{event.total} "
                f"({rate:.0f} msg/s)"
            )
            if self.live:
                click.echo(f"\r{clean(line)}\x1b[K", nl=False, err=True)  # ours: \r, erase
            elif event.done in (0, event.total) or event.done % 2000 < 500:
                say(line, err=True)
        elif event.kind == "run":
            if self.live:
                click.echo("\r\x1b[K", nl=False, err=True)
            run = event.run
            outcome = f"error: {event.message}" if event.message else "ok"
            say(
                f"{event.channel}: fetched {run.fetched}, ingested {run.ingested}, skipped "
                f"{run.skipped}, failed {run.failed}; {outcome}",
                err=True,
            )
        elif event.message:
            say(f"{event.channel}: {event.message}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=20, show_default=True)
@handle_errors
def jobs(as_json: bool, limit: int) -> None:
    """Recent poll runs and each channel's state."""
    from deskterm.desk import queries

    open_desk()
    report = queries.job_report(limit)
    if as_json:
        echo_json(report)
        return
    for row in report["channels"]:
        say(f"{row['name']:<20} {row['state']:<12} {one_line(row['detail'])}")
    if report["runs"]:
        say("")
    for run in report["runs"]:
        error = f"  error: {one_line(run['error'])}" if run["error"] else ""
        say(
            f"{run['started_at']}  {run['channel'] or '-':<16} fetched {run['fetched']:>5}  "
            f"ingested {run['ingested']:>5}  skipped {run['skipped']:>4}  failed "
            f"{run['failed']:>3}{error}"
        )


@main.command()
@click.option(
    "--status", default="open", show_default=True, help="open, pending, resolved, closed or all."
)
@click.option("--channel", "channel_name")
@click.option("--search")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def conversations(status: str, channel_name: str | None, search: str | None, as_json: bool) -> None:
    """List conversations, newest activity first."""
    from deskterm.desk import queries

    open_desk()
    rows = queries.list_conversations(status, channel_name, search)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        say(
            f"#{row['id']:<6} {row['status']:<8} {row['priority']:<6} "
            f"{one_line(row['contact'] or '-')[:28]:<28} {one_line(row['subject'])[:60]}"
        )


@main.command()
@click.argument("conversation_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def show(conversation_id: int, as_json: bool) -> None:
    """Show a conversation's messages, oldest first."""
    from deskterm.desk import queries

    open_desk()
    data = queries.conversation_detail(conversation_id)
    if as_json:
        echo_json(data)
        return
    say(f"#{data['id']} {one_line(data['subject'])}")
    say(f"{data['status']}, {data['priority']} priority, {data['channel']}")
    say(f"Replies go to {one_line(data['contact'] or '(no contact)')}")
    if data["reply_to"]:
        say(
            f"The last mail asks for replies to {one_line(data['reply_to'])} instead; "
            f"reply with --to-reply-to to use it."
        )
    for message in data["messages"]:
        arrow = "<-" if message["direction"] == "in" else "->"
        say(f"\n{arrow} {one_line(message['from'])}  {message['date'] or ''}")
        if message["notes"].get("outsider"):
            say("   (not a participant: joined by its headers alone)")
        for attachment in message["attachments"]:
            say(f"   [{one_line(attachment['filename'])}, {attachment['size']} bytes]")
        # Every line of the text indented: a body cannot draw a message header of its own.
        text = clean(message["text"]).rstrip()
        say("\n".join(f"   {line}" if line else "" for line in text.split("\n")))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=100, show_default=True)
@handle_errors
def skipped(as_json: bool, limit: int) -> None:
    """Mail fetched but not turned into a conversation message, with the reason."""
    from deskterm.desk import queries

    open_desk()
    rows = queries.skipped_list(limit)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        twin = row["twin_message"]
        reason = f"{row['reason']} of message {twin}" if twin else row["reason"]
        say(
            f"{row['channel']:<12} {one_line(reason)[:34]:<34} "
            f"{one_line(row['from'])[:28]:<28} {one_line(row['subject'])[:50]}"
        )


# --- outbound -----------------------------------------------------------------------------


@main.command()
@click.argument("conversation_id", type=int)
@click.option("--body-file", type=click.Path(path_type=Path), help="The reply's text ('-': stdin).")
@click.option("--template", "template_name", help="Start from this template ($variables filled).")
@click.option("--attach", "attachments", multiple=True, type=click.Path(path_type=Path))
@click.option("--cc", "cc", multiple=True)
@click.option(
    "--to-reply-to",
    is_flag=True,
    help="Send to the Reply-To of the last mail instead of the contact (`show` lists it).",
)
@click.option(
    "--status",
    type=click.Choice(["open", "pending", "resolved", "closed"]),
    default="pending",
    show_default=True,
    help="The conversation's status afterwards.",
)
@handle_errors
def reply(
    conversation_id: int,
    body_file: Path | None,
    template_name: str | None,
    attachments: tuple[Path, ...],
    cc: tuple[str, ...],
    to_reply_to: bool,
    status: str,
) -> None:
    """Queue a reply in the outbox; `deskterm poll` or `deskterm send` delivers it.

    It goes to the conversation's contact; a different Reply-To is used only with --to-reply-to.
    """
    from deskterm.desk import templates
    from deskterm.outbound import outbox
    from deskterm.store.models import Conversation

    open_desk()
    parts = []
    if template_name:
        conversation = Conversation.get_or_none(Conversation.id == conversation_id)
        if conversation is None:
            raise DeskError(f"There is no conversation #{conversation_id}.")
        parts.append(
            templates.render(
                templates.get(template_name).body, outbox.template_values(conversation)
            )
        )
    if body_file is not None:
        parts.append(_read_text(body_file))
    if not parts:
        raise DeskError(
            "Give the reply's text with --body-file FILE (or - for stdin) or --template."
        )
    message = outbox.queue_reply(
        conversation_id,
        "\n\n".join(parts),
        attachments=list(attachments),
        cc=list(cc),
        status=status,
        to_reply_to=to_reply_to,
    )
    recipients = one_line(", ".join([*message.to, *message.cc]))
    say(
        f"Reply to #{conversation_id} queued for {recipients} ({message.message_id}); "
        "it is sent by `deskterm poll` or `deskterm send`."
    )


def _read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeskError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise DeskError(f"{path} is not UTF-8 text.") from None


@main.command()
@click.option("--channel", "channel_name")
@click.option("--now", "force", is_flag=True, help="Also send what waits for a retry time.")
@handle_errors
def send(channel_name: str | None, force: bool) -> None:
    """Deliver the outbox once (exit 1 if anything could not be sent)."""
    from deskterm.engine.worker import worker_lock
    from deskterm.outbound import outbox

    open_desk()
    with worker_lock():  # `deskterm poll` sends by itself; never two senders at once
        outbox.recover_interrupted()
        results = outbox.flush(_store(), channel_name=channel_name, force=force)
    for result in results:
        say(
            f"#{result.conversation_id} (outbox {result.outbox_id}): {result.state}"
            f"{': ' + one_line(result.detail) if result.detail else ''}"
        )
    if not results:
        say("Nothing to send.")
    sys.exit(0 if all(r.state == "sent" for r in results) else 1)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "include_sent", is_flag=True, help="Include sent and cancelled items.")
@click.pass_context
@handle_errors
def outbox(ctx: click.Context, as_json: bool, include_sent: bool) -> None:
    """Queued and failed replies; `outbox retry ID` and `outbox cancel ID` act on one."""
    if ctx.invoked_subcommand is not None:
        return
    from deskterm.outbound import outbox as engine

    open_desk()
    rows = engine.listing(include_sent)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("The outbox is empty.")
    for row in rows:
        error = f"  {one_line(row['error'])}" if row["error"] else ""
        say(
            f"{row['id']:>5} #{row['conversation']:<6} {row['state']:<9} "
            f"{row['attempts']} tries  {one_line(row['subject'])[:40]}{error}"
        )


@outbox.command("retry")
@click.argument("outbox_id", type=int)
@handle_errors
def outbox_retry(outbox_id: int) -> None:
    """Queue a failed item again, now."""
    from deskterm.outbound import outbox as engine

    open_desk()
    engine.retry(outbox_id)
    say(f"Outbox item {outbox_id} is queued again.")


@outbox.command("cancel")
@click.argument("outbox_id", type=int)
@handle_errors
def outbox_cancel(outbox_id: int) -> None:
    """Never send this item."""
    from deskterm.outbound import outbox as engine

    open_desk()
    engine.cancel(outbox_id)
    say(f"Outbox item {outbox_id} is cancelled.")


@main.group()
def template() -> None:
    """Reply templates with $variables (see `template add --help`)."""


@template.command("add")
@click.argument("name")
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path),
    help="The template text ('-': stdin).",
)
@handle_errors
def template_add(name: str, file: Path) -> None:
    """Add or replace a template. Variables: $contact_name $contact_email $conversation_id
    $subject $agent_name $channel_name ($$ for a dollar sign)."""
    from deskterm.desk import templates

    body = _read_text(file)
    open_desk()
    templates.save(name, body)
    say(f"Template {name!r} saved.")


@template.command("list")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def template_list(as_json: bool) -> None:
    from deskterm.desk import templates

    open_desk()
    rows = [{"name": t.name, "body": t.body} for t in templates.all_templates()]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        say(f"{row['name']:<20} {one_line(row['body'])[:56]}")


@template.command("show")
@click.argument("name")
@handle_errors
def template_show(name: str) -> None:
    from deskterm.desk import templates

    open_desk()
    say(clean(templates.get(name).body).rstrip("\n"))


@template.command("remove")
@click.argument("name")
@handle_errors
def template_remove(name: str) -> None:
    from deskterm.desk import templates

    open_desk()
    templates.remove(name)
    say(f"Template {name!r} removed.")


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
        say(f"backend: {status.name}\n{status.reason}")


def _store() -> Any:
    from deskterm.secrets.store import open_secret_store

    return open_secret_store()


def _store_or_none() -> Any | None:
    try:
        return _store()
    except DeskError as exc:
        say(f"deskterm: the channel's secrets were left in place: {exc}", err=True)
        return None


# The UI's commands (`demo`, ...) live beside the UI; they register themselves on `main`, as
# do the contact commands.
from deskterm.cli import contacts as cli_contacts  # noqa: E402
from deskterm.cli import ui as cli_ui  # noqa: E402

cli_contacts.register(main)
cli_ui.register(main)

if __name__ == "__main__":
    main()
