"""`deskterm reply`, `send` and `outbox ...`: replies from queued to delivered."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, read_text, say
from deskterm.cli.secrets import secret_store
from deskterm.desk import status as lifecycle
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import one_line


@click.command("reply")
@click.argument("conversation_id", type=int)
@click.option("--body-file", type=click.Path(path_type=Path), help="The reply's text ('-': stdin).")
@click.option("--template", "template_name", help="Start from this template ($variables filled).")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Attach this file (repeat for more).",
)
@click.option("--cc", "cc", multiple=True, help="Also send to this address (repeat for more).")
@click.option(
    "--to-reply-to",
    is_flag=True,
    help="Send to the Reply-To of the last mail instead of the contact (`show` lists it).",
)
@click.option(
    "--status",
    type=click.Choice(lifecycle.STATUSES),
    default=lifecycle.DEFAULT_AFTER_REPLY,
    show_default=True,
    help="The conversation's status afterwards.",
)
@click.option(
    "--seen",
    metavar="MESSAGE_ID",
    help="The newest message you read (its message_id in `show`): if the customer wrote or "
    "an agent replied since, nothing is queued and the error says what came.",
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
    seen: str | None,
) -> None:
    """Queue a reply in the outbox; `deskterm poll` or `deskterm send` delivers it.

    It goes to the conversation's contact; a different Reply-To is used only with --to-reply-to.
    With --seen, it is refused if the customer wrote or an agent replied after that message.
    """
    from deskterm.desk import queries, templates
    from deskterm.outbound import collision, replies

    open_desk()
    seen_upto = collision.seen_upto_of(conversation_id, seen) if seen else None
    parts = []
    if template_name:
        conversation = queries.get_conversation(conversation_id)
        parts.append(templates.fill(template_name, conversation))
    if body_file is not None:
        parts.append(read_text(body_file))
    if not parts:
        raise DeskError(
            "Give the reply's text with --body-file FILE (or - for stdin) or --template."
        )
    message = replies.queue_reply(
        conversation_id,
        "\n\n".join(parts),
        attachments=list(attachments),
        cc=list(cc),
        status=status,
        to_reply_to=to_reply_to,
        seen_upto=seen_upto,
    )
    recipients = one_line(", ".join([*message.to, *message.cc]))
    say(
        f"Reply to #{conversation_id} queued for {recipients} ({message.message_id}); "
        "it is sent by `deskterm poll` or `deskterm send`."
    )


@click.command("send")
@click.option("--channel", "channel_name", help="Only this channel's outbox.")
@click.option("--now", "force", is_flag=True, help="Also send what waits for a retry time.")
@handle_errors
def send(channel_name: str | None, force: bool) -> None:
    """Deliver the outbox once (exit 1 if anything could not be sent)."""
    from deskterm.engine.events import ChannelSkipped, Event
    from deskterm.engine.worker import Worker

    open_desk()

    def heard(event: Event) -> None:
        if isinstance(event, ChannelSkipped):
            say(f"{event.channel}: not sent from here: {event.message}.")

    # The worker's own leadership: refused while another worker holds an SQLite desk, and on
    # a team desk only the channels this process may lead (`deskterm poll` sends by itself).
    worker = Worker(store=secret_store(), on_event=heard)
    try:
        with worker.claim_desk(channel_name):
            results = worker.send(channel_name, force=force, tell_skipped=True)
    finally:
        worker.close()
    for result in results:
        say(
            f"#{result.conversation_id} (outbox {result.outbox_id}): {result.state}"
            f"{': ' + one_line(result.detail) if result.detail else ''}"
        )
    if not results:
        say("Nothing to send.")
    sys.exit(0 if all(r.state == "sent" for r in results) else 1)


@click.group("outbox", invoke_without_command=True)
@json_option
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
