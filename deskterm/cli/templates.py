"""`deskterm template ...`: reply templates and notification texts with $variables."""

from __future__ import annotations

from pathlib import Path

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, read_text, say
from deskterm.engine.startup import open_desk
from deskterm.sanitize import clean, one_line

KINDS = ("reply", "reply_notification", "resolved")  # those chosen by name in a channel
kind_option = click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="What it is for (default: reply, or the kind it has); `invitation` and "
    "`sla_warning` are the kinds of the templates of those names.",
)
html_option = click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path),
    help="An HTML part with the same $variables (values from mail are escaped in it).",
)


@click.group("template")
def template() -> None:
    """Reply templates and notification texts with $variables (see `template add --help`)."""


@template.command("add")
@click.argument("name")
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path),
    help="The template text ('-': stdin).",
)
@kind_option
@html_option
@handle_errors
def template_add(name: str, file: Path, kind: str | None, html_file: Path | None) -> None:
    """Add or replace a template. Every kind with a conversation has $contact_name
    $contact_email $conversation_id $subject $agent_name $channel_name and $field_<name>
    ($$ for a dollar sign); reply_notification adds $reply_text; the template `sla_warning`
    adds $due_at $sla_target; the template `invitation` (what `deskterm agent invite` mails)
    has $invitee_name $invitee_email $invitee_handle $agent_name. `template preview NAME
    --file F` shows the result first."""
    from deskterm.desk import templates

    body = read_text(file)
    html = read_text(html_file) if html_file is not None else None
    open_desk()
    row = templates.save(name, body, kind=kind, html=html)
    say(f"Template {name!r} saved ({row.kind}{', with HTML' if row.html else ''}).")


@template.command("list")
@json_option
@handle_errors
def template_list(as_json: bool) -> None:
    """List the templates, and the built-in notification texts (invitation, sla_warning,
    resolved, reply_notification) not overridden by a saved template of that name."""
    from deskterm.desk import templates

    open_desk()
    rows = templates.listing()
    if as_json:
        echo_json(
            [
                {
                    "name": t.name,
                    "body": t.body,
                    "kind": t.kind,
                    "html": t.html,
                    "built_in": t.built_in,
                }
                for t in rows
            ]
        )
        return
    if not any(not row.built_in for row in rows):
        say(
            "No templates saved yet; `deskterm template add NAME --file reply.txt` adds one "
            "(the built-in texts below are sent until one of that name is saved)."
        )
    for row in rows:
        mark = " (built-in)" if row.built_in else ""
        say(f"{one_line(row.name):<20} {row.kind:<18} {one_line(row.body)[:40]}{mark}")


@template.command("show")
@click.argument("name")
@click.option("--html", "show_html", is_flag=True, help="Print its HTML part instead.")
@handle_errors
def template_show(name: str, show_html: bool) -> None:
    """Print a template's text (or its HTML part), or a kind's built-in text (as `template
    list` shows it) where none of that name is saved."""
    from deskterm.desk import templates

    open_desk()
    body, html, _kind = templates.saved_or_default(name)
    say(clean((html or "") if show_html else body).rstrip("\n"))


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
@kind_option
@html_option
@click.option("--show-html", is_flag=True, help="Print the filled HTML part after the text.")
@handle_errors
def template_preview(
    name: str,
    file: Path | None,
    conversation_id: int | None,
    kind: str | None,
    html_file: Path | None,
    show_html: bool,
) -> None:
    """Print a template with its $variables filled, as it would be sent: a saved one (or a
    kind's built-in text: invitation, sla_warning, resolved, reply_notification), or the
    text of --file (and --html) before saving it, checked as `template add` checks it."""
    from deskterm.desk import queries, templates

    body = read_text(file) if file is not None else None
    html = read_text(html_file) if html_file is not None else None
    open_desk()
    if body is None:
        body, saved_html, saved_kind = templates.saved_or_default(name)
        html = saved_html if html is None else html
        kind = kind or saved_kind
    conversation = queries.get_conversation(conversation_id) if conversation_id else None
    filled = templates.preview_parts(name, body, conversation, kind=kind, html=html)
    say(clean(filled.text).rstrip("\n"))
    if show_html:
        say("")
        say(clean(filled.html or "(no HTML part: the HTML is made from the text)").rstrip("\n"))


@template.command("remove")
@click.argument("name")
@handle_errors
def template_remove(name: str) -> None:
    """Remove a template."""
    from deskterm.desk import templates

    open_desk()
    templates.remove(name)
    say(f"Template {name!r} removed.")
