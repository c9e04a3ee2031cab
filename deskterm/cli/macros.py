"""`deskterm macro ...`: named sets of triage actions (and a reply template) applied at once."""

from __future__ import annotations

import click

from deskterm.cli.agents import complete_handles
from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.engine.startup import open_desk
from deskterm.sanitize import one_line


@click.group("macro")
def macro() -> None:
    """Macros: a named set of actions applied in one go (`x` in the desk)."""


@macro.command("add")
@click.argument("name")
@click.option("--tags", help="Tags to change, e.g. '+vip -billing'.")
@click.option("--priority", type=click.Choice(["high", "normal", "low"]), help="The priority.")
@click.option(
    "--assign",
    help="An agent's handle or address, 'me', or '' for nobody.",
    shell_complete=complete_handles,
)
@click.option("--type", "type", help="A conversation type (`deskterm type list`).")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="A custom field's value, set after the type (repeat for several).",
)
@click.option("--template", help="A reply template put in the composer (from a thread only).")
@click.option("--send", "send", help="A reply template queued as the reply (a send macro).")
@click.option(
    "--status",
    type=click.Choice(["open", "pending", "resolved", "closed"]),
    help="The status, set last (resolved mails the channel's resolved_template).",
)
@handle_errors
def macro_add(name: str, fields: tuple[str, ...], **chosen: str | None) -> None:
    """Add or replace a macro. Its actions run in this order: type, fields, tags, priority,
    assign, template or send, status. --template inserts the filled template in the composer when
    the macro is applied from a thread, and sends nothing when it is applied elsewhere;
    --send queues it as the reply to each conversation the macro is applied to."""
    from deskterm.desk import macros

    open_desk()
    actions: list[tuple[str, object]] = [
        (action, value) for action, value in chosen.items() if value is not None
    ]
    if fields:  # each NAME=VALUE whole: a value may hold a comma here
        actions.append(("fields", dict(macros.field_pair(pair) for pair in fields)))
    macros.save(name, actions)
    say(f"Macro {name!r} saved.")


@macro.command("list")
@json_option
@handle_errors
def macro_list(as_json: bool) -> None:
    """List the macros."""
    from deskterm.desk import macros

    open_desk()
    rows = macros.all_macros()
    if as_json:
        echo_json([macros.describe(m) for m in rows])
        return
    if not rows:
        say("No macros yet; `deskterm macro add NAME --status resolved ...` adds one.")
    for row in rows:
        say(f"{one_line(row.name):<20} {macros.summary(row)}")


@macro.command("show")
@click.argument("name")
@json_option
@handle_errors
def macro_show(name: str, as_json: bool) -> None:
    """Print a macro's actions, in the order they run."""
    from deskterm.desk import macros

    open_desk()
    row = macros.get(name)
    if as_json:
        echo_json(macros.describe(row))
        return
    for action, value in macros.actions_of(row):
        say(f"{action:<10} {macros.value_text(action, value)}")


@macro.command("apply")
@click.argument("name")
@click.argument("conversation_ids", nargs=-1, required=True, type=int)
@json_option
@handle_errors
def macro_apply(name: str, conversation_ids: tuple[int, ...], as_json: bool) -> None:
    """Apply a macro to one or more conversations, all of them or none. A --template
    action sends nothing from here; a --send action queues its reply to each."""
    from deskterm.desk import triage
    from deskterm.outbound import macros

    open_desk()
    done = macros.apply_all(conversation_ids, name)
    if as_json:
        echo_json(
            {
                "macro": done.name,
                "conversations": [triage.state(cid) for cid in done.conversation_ids],
                "queued": [m.message_id for m in done.sent],
                "template_skipped": done.template_skipped,
            }
        )
        return
    say(done.sentence())


@macro.command("remove")
@click.argument("name")
@handle_errors
def macro_remove(name: str) -> None:
    """Remove a macro."""
    from deskterm.desk import macros

    open_desk()
    macros.remove(name)
    say(f"Macro {name!r} removed.")
