"""`deskterm status`, `assign` and `tag`: triage from a shell or a script.

Each goes through `deskterm.desk.triage`, as the UI's keys do, so a value the desk does not
know is refused with the same one sentence; `--json` prints the conversation's state after the
change (`triage.state`), and the text output says it in one line.
"""

from __future__ import annotations

import click

from deskterm.cli.agents import complete_handles
from deskterm.cli.console import echo_json, handle_errors, say
from deskterm.engine.startup import open_desk
from deskterm.errors import ConfigError

state_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the conversation's new state as JSON."
)


def _done(conversation_id: int, said: str, as_json: bool) -> None:
    from deskterm.desk import triage

    if as_json:
        echo_json(triage.state(conversation_id))
    else:
        say(f"#{conversation_id} is now {said}.")


@click.command("status")
@click.argument("conversation_id", type=int)
@click.argument("status")
@state_json_option
@handle_errors
def status(conversation_id: int, status: str, as_json: bool) -> None:
    """Set a conversation's status: open, pending, resolved or closed (resolving mails the
    customer the channel's resolved_template, where it names one)."""
    from deskterm.outbound import resolved

    open_desk()
    _done(conversation_id, resolved.set_status(conversation_id, status), as_json)


@click.command("assign")
@click.argument("conversation_id", type=int)
@click.argument("agent", required=False, shell_complete=complete_handles)
@click.option("--nobody", is_flag=True, help="Unassign the conversation (as an empty AGENT).")
@state_json_option
@handle_errors
def assign(conversation_id: int, agent: str | None, nobody: bool, as_json: bool) -> None:
    """Give a conversation to AGENT (a handle or address, `me` for yourself; `deskterm agent
    list` shows them), or to nobody."""
    from deskterm.desk import triage

    if agent is None and not nobody:
        raise ConfigError("Name the agent, or pass --nobody (or an empty AGENT) to unassign.")
    if agent and nobody:
        raise ConfigError("Give either an agent or --nobody, not both.")
    open_desk()
    who = triage.assign(conversation_id, agent)
    _done(conversation_id, f"assigned to {who}" if who else "unassigned", as_json)


@click.command("tag", context_settings={"ignore_unknown_options": True})
@click.argument("conversation_id", type=int)
@click.argument("changes", nargs=-1, type=click.UNPROCESSED)
@state_json_option
@handle_errors
def tag(conversation_id: int, changes: tuple[str, ...], as_json: bool) -> None:
    """Change a conversation's tags: +tag (or tag) adds, -tag removes, e.g. `tag 42 +vip
    -billing`; without changes, shows them."""
    from deskterm.desk import triage

    open_desk()
    now = triage.change_tags(conversation_id, " ".join(changes))
    if not changes and not as_json:
        say(f"#{conversation_id} is {'tagged ' + ', '.join(now) if now else 'untagged'}.")
    else:
        _done(conversation_id, f"tagged {', '.join(now)}" if now else "untagged", as_json)
