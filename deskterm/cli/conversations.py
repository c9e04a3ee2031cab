"""`deskterm conversations` and `deskterm show`: the desk's conversations, read from the CLI."""

from __future__ import annotations

from typing import Any

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, open_existing_desk, say
from deskterm.errors import ConfigError
from deskterm.sanitize import clean, one_line


@click.command("conversations")
@click.option(
    "--status", default="open", show_default=True, help="open, pending, resolved, closed or all."
)
@click.option("--channel", "channel_name", help="Only this channel's conversations.")
@click.option("--search", help="Only those matching these words (as / in the desk).")
@click.option(
    "--assignee", help="Only this agent's (a handle; `me` for yours, `none` for unassigned)."
)
@click.option("--type", "type_name", help="Only this type's (`none` for untyped ones).")
@click.option("--field", help="Only those whose field holds a value: NAME=VALUE.")
@click.option(
    "--sort",
    "order",
    type=click.Choice(["newest", "waiting", "priority", "due"]),
    default="newest",
    show_default=True,
    help="As the desk's o: newest activity, oldest waiting, priority, SLA due time.",
)
@json_option
@handle_errors
def conversations(
    status: str,
    channel_name: str | None,
    search: str | None,
    assignee: str | None,
    type_name: str | None,
    field: str | None,
    order: str,
    as_json: bool,
) -> None:
    """List conversations, newest activity first. Where an SLA policy applies, the next due
    time follows the subject, marked BREACHED or due soon (`due_at`, `breached` in --json)."""
    from deskterm.desk import queries
    from deskterm.desk.filters import owner_key

    if field is not None and "=" not in field:
        raise ConfigError(f"--field {field} names no value; write --field NAME=VALUE.")
    open_existing_desk()
    owner = owner_key(assignee) if assignee else None
    rows = queries.list_conversations(
        status, channel_name, search, assignee=owner, type=type_name, field=field, order=order
    )
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        # The assignee's handle, never cut (a script may read it); blank when nobody.
        who = f"@{one_line(row['assignee'])}" if row["assignee"] else ""
        say(
            f"#{row['id']:<6} {row['status']:<8} {row['priority']:<6} "
            f"{one_line(row['contact'] or '-')[:28]:<28} {who:<10} "
            f"{one_line(row['subject'])[:60]}{_due(row)}"
        )


def _due(row: dict[str, Any]) -> str:
    """The SLA's next due time in words, for the plain listing and `show`."""
    if not row["due_at"]:
        return ""
    said = "BREACHED, " if row["breached"] else "due soon, " if row["due_soon"] else ""
    target = (row["due_target"] or "").replace("_", " ")
    return f"  [{said}{target} due {row['due_at']}]"


@click.command("show")
@click.argument("conversation_id", type=int)
@json_option
@handle_errors
def show(conversation_id: int, as_json: bool) -> None:
    """Show a conversation's messages, oldest first."""
    from deskterm.desk import queries

    open_existing_desk()
    data = queries.conversation_detail(conversation_id)
    if as_json:
        echo_json(data)
        return
    say(f"#{data['id']} {one_line(data['subject'])}")
    say(f"{data['status']}, {data['priority']} priority, {data['channel']}{_due(data)}")
    if data["type"]:
        shown = [f"{f['name']}: {one_line(f['value'] or '-')}" for f in data["fields"]]
        say(f"Type {data['type']}" + (f"; {', '.join(shown)}" if shown else ""))
    say(f"Replies go to {one_line(data['contact'] or '(no contact)')}")
    if data["reply_to"]:
        say(
            f"The last mail asks for replies to {one_line(data['reply_to'])} instead; "
            f"reply with --to-reply-to to use it."
        )
    for message in data["messages"]:
        if message["direction"] == "note":
            _say_note(message)
            continue
        arrow = "<-" if message["direction"] == "in" else "->"
        say(f"\n{arrow} {one_line(message['from'])}  {message['date'] or ''}")
        if message.get("sent_by"):
            say(f"   {one_line(message['sent_by'])}")
        if message["notes"].get("outsider"):
            say("   (not a participant: joined by its headers alone)")
        for routed in message.get("routing", []):
            say(f"   {one_line(routed['said'])}")
        for attachment in message["attachments"]:
            say(f"   [{one_line(attachment['filename'])}, {attachment['size']} bytes]")
        # Every line of the text indented: a body cannot draw a message header of its own.
        text = clean(message["text"]).rstrip()
        say("\n".join(f"   {line}" if line else "" for line in text.split("\n")))


def _say_note(note: dict[str, Any]) -> None:
    """A note as no mail is printed: its own header, and every line behind a bar."""
    by = one_line(note["author_name"] or "")
    who = f"{by} (@{note['author']})" if by else "an agent"
    say(f"\n== Note by {who} · internal, never sent  {note['date'] or ''}")
    text = clean(note["text"]).rstrip()
    say("\n".join(f"   | {line}" for line in text.split("\n")))
