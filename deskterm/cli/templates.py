"""`deskterm template ...`: reply templates with $variables."""

from __future__ import annotations

from pathlib import Path

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, read_text, say
from deskterm.engine.startup import open_desk
from deskterm.sanitize import clean, one_line


@click.group("template")
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
    $subject $agent_name $channel_name ($$ for a dollar sign); the template `invitation`
    (what `deskterm agent invite` mails) has $invitee_name $invitee_email $invitee_handle
    $agent_name. `template preview NAME --file F` shows the result first."""
    from deskterm.desk import templates

    body = read_text(file)
    open_desk()
    templates.save(name, body)
    say(f"Template {name!r} saved.")


@template.command("list")
@json_option
@handle_errors
def template_list(as_json: bool) -> None:
    """List the templates."""
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
    """Print a template's text."""
    from deskterm.desk import templates

    open_desk()
    say(clean(templates.get(name).body).rstrip("\n"))


@template.command("preview")
@click.argument("name")
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path),
    help="A text not saved yet ('-': stdin); default: the saved template.",
)
@click.option(
    "--conversation",
    "conversation_id",
    type=int,
    help="Fill it for this conversation (default: sample values).",
)
@handle_errors
def template_preview(name: str, file: Path | None, conversation_id: int | None) -> None:
    """Print a template with its $variables filled, as it would be sent: a saved one, or
    the text of --file before saving it (checked as `template add` checks it)."""
    from deskterm.desk import queries, templates

    body = read_text(file) if file is not None else None
    open_desk()
    if body is None:  # the invitation and the SLA notice have built-in texts until saved
        body = templates.body_of(name)
    conversation = queries.get_conversation(conversation_id) if conversation_id else None
    say(clean(templates.preview(name, body, conversation)).rstrip("\n"))


@template.command("remove")
@click.argument("name")
@handle_errors
def template_remove(name: str) -> None:
    """Remove a template."""
    from deskterm.desk import templates

    open_desk()
    templates.remove(name)
    say(f"Template {name!r} removed.")
