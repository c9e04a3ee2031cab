"""`deskterm agent ...`: the desk's agents (who assignments, notes and mentions name), for
the admin who sets up a team desk; and the completion of a handle wherever one is typed."""

from __future__ import annotations

import sys
from typing import Any

import click

from deskterm.cli.console import completing, echo_json, handle_errors, json_option, say
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import one_line


def complete_handles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The agents' handles starting with what was typed (an `@` before it is fine)."""

    def handles() -> list[str]:
        from deskterm.desk import agents

        return agents.handles()

    return completing(handles, incomplete.lstrip("@"))


@click.group("agent")
def agent() -> None:
    """The desk's agents: whom conversations are assigned to (see `agent add --help`)."""


@agent.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The agent's name, as colleagues see it.")
@click.option("--handle", help="The one word the desk shows (default: from the address).")
@click.option("--login", help="The OS login that is this agent (without DESKTERM_AGENT).")
@click.option("--invite", is_flag=True, help="Mail them the invitation (template `invitation`).")
@click.option("--admin", is_flag=True, help="They may define types and fields (see `agent admin`).")
@handle_errors
def agent_add(
    email: str, name: str, handle: str | None, login: str | None, invite: bool, admin: bool
) -> None:
    """Add an agent to the desk by address (an admin's task)."""
    from deskterm.desk import agents

    open_desk()
    added = agents.add(email, name, handle=handle, login=login, admin=admin)
    say(f"Agent {added.handle} added ({one_line(added.name)} <{added.email}>).")
    if invite:
        _invite(added.handle)


@agent.command("list")
@json_option
@handle_errors
def agent_list(as_json: bool) -> None:
    """List the agents, by handle."""
    from deskterm.desk import agents

    open_desk()
    rows = [_row(a) for a in agents.all_agents()]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("No agents yet: `deskterm agent add EMAIL --name NAME` adds one.")
    for row in rows:
        login = f"  (login {one_line(row['login'])})" if row["login"] else ""
        say(f"{row['handle']:<16} {one_line(row['name'])[:30]:<30} {row['email'] or '-'}{login}")


@agent.command("remove")
@click.argument("handle", shell_complete=complete_handles)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def agent_remove(handle: str, yes: bool) -> None:
    """Remove an agent: their conversations become unassigned, their notes stay."""
    from deskterm.desk import agents

    open_desk()
    agents.require_admin("remove agents")  # before asking, not after a confirmed "yes"
    found = agents.get(handle)
    if not yes:
        if not sys.stdin.isatty():
            raise DeskError(f"Removing {found.handle} needs confirmation; add --yes to confirm.")
        click.confirm(
            f"Remove agent {found.handle} ({one_line(found.name)})? "
            "Their conversations become unassigned.",
            abort=True,
            default=False,
        )
    freed = agents.remove(found.handle)
    said = f"; {freed} conversation(s) are unassigned now" if freed else ""
    say(f"Agent {found.handle} removed{said}.")


@agent.command("admin")
@click.argument("handle", shell_complete=complete_handles)
@click.option("--off", is_flag=True, help="No longer an admin.")
@handle_errors
def agent_admin(handle: str, off: bool) -> None:
    """Make an agent an admin: who may define conversation types and fields and change
    restricted fields. Until a desk names one, every agent may; afterwards only admins."""
    from deskterm.desk import agents

    open_desk()
    changed = agents.set_admin(handle, not off)
    say(f"{changed.handle} is {'an admin now' if changed.admin else 'no longer an admin'}.")


@agent.command("invite")
@click.argument("handle", shell_complete=complete_handles)
@handle_errors
def agent_invite(handle: str) -> None:
    """Mail an agent the invitation (the template `invitation`, see `template preview
    invitation`), through the desk's own SMTP account (SMTP_HOST ..., as notifications)."""
    open_desk()
    _invite(handle)


def _invite(handle: str) -> None:
    from deskterm.outbound import invitations

    address = invitations.invite(handle)
    say(f"Invitation sent to {address}.")


def _row(found: Any) -> dict[str, Any]:
    return {
        "handle": found.handle,
        "name": found.name,
        "email": found.email,
        "login": found.login,
        "admin": bool(found.admin),
    }
