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
    $subject $agent_name $channel_name ($$ for a dollar sign)."""
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


@template.command("remove")
@click.argument("name")
@handle_errors
def template_remove(name: str) -> None:
    """Remove a template."""
    from deskterm.desk import templates

    open_desk()
    templates.remove(name)
    say(f"Template {name!r} removed.")
