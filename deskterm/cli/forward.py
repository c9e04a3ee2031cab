"""`deskterm forward MESSAGE_ID ADDRESS`: a stored message, with its attachments, to anyone."""

from __future__ import annotations

from pathlib import Path

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, read_text, say
from deskterm.engine.startup import open_desk
from deskterm.sanitize import one_line


@click.command("forward")
@click.argument("message_id")
@click.argument("address")
@click.option(
    "--note-file",
    type=click.Path(path_type=Path),
    help="A note written above the forwarded message ('-': stdin).",
)
@json_option
@handle_errors
def forward(message_id: str, address: str, note_file: Path | None, as_json: bool) -> None:
    """Queue a message, with its attachments, forwarded to ADDRESS; `deskterm poll` or
    `deskterm send` delivers it.

    MESSAGE_ID is the message's Message-ID (`message_id` in `deskterm show ID --json`).
    """
    from deskterm.outbound import forward as forwarding

    open_desk()
    note = read_text(note_file) if note_file is not None else ""
    message = forwarding.queue_forward(message_id, address, note)
    if as_json:
        echo_json(
            {
                "conversation": message.conversation_id,
                "message_id": message.message_id,
                "to": message.to,
                "subject": message.subject,
                "state": message.state,
            }
        )
        return
    say(
        f"Forward to {one_line(', '.join(message.to))} queued in #{message.conversation_id} "
        f"({message.message_id}); it is sent by `deskterm poll` or `deskterm send`."
    )
