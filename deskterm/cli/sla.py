"""`deskterm sla ...`: SLA policies (response targets, business hours) and the notices sent."""

from __future__ import annotations

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import one_line


def complete_policies(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """The policies' names starting with what was typed, for shell completion (nothing when
    the desk cannot be opened: completion must never fail the shell)."""
    try:
        from deskterm.desk import sla_policies

        open_desk()
        names = [p.name for p in sla_policies.all_policies()]
    except Exception:
        return []
    return [click.shell_completion.CompletionItem(n) for n in names if n.startswith(incomplete)]


@click.group("sla")
def sla() -> None:
    """SLA policies: first-response and resolution targets, and when they are due."""


@sla.command("add")
@click.argument("name")
@click.option("--priority", type=click.Choice(["high", "normal", "low"]), help="Only these.")
@click.option("--channel", "channel", help="Only this channel's conversations.")
@click.option(
    "--type",
    "conversation_type",
    help="Only conversations of this type (matches nothing until the desk has types).",
)
@click.option("--first-response", help="Time to the first agent reply, e.g. 1h, 90m.")
@click.option("--resolution", help="Time to resolved, e.g. 8h.")
@click.option(
    "--hours",
    default="24/7",
    show_default=True,
    help='Business hours: "mon-fri 09:00-17:00; sat 10:00-14:00", or 24/7.',
)
@click.option("--timezone", default="UTC", show_default=True, help="e.g. Europe/Berlin.")
@click.option("--holiday", "holidays", multiple=True, help="A day off, 2025-12-25 (repeat).")
@click.option(
    "--pause-when-pending/--run-when-pending",
    default=True,
    show_default=True,
    help="Stop the clock while waiting for the customer.",
)
@click.option(
    "--warn-before",
    default="30m",
    show_default=True,
    help="Mail a warning this long before a target is due (0: only the breach notice).",
)
@json_option
@handle_errors
def sla_add(name: str, as_json: bool, **options: object) -> None:
    """Add a policy. The most specific policy matching a conversation's priority, channel
    and type applies; every conversation's due time is set again at once."""
    from deskterm.desk import sla as clocks
    from deskterm.desk import sla_policies

    terms = sla_policies.Terms(
        priority=options["priority"],  # type: ignore[arg-type]
        channel=options["channel"],  # type: ignore[arg-type]
        conversation_type=options["conversation_type"],  # type: ignore[arg-type]
        first_response=options["first_response"],  # type: ignore[arg-type]
        resolution=options["resolution"],  # type: ignore[arg-type]
        hours=str(options["hours"]),
        timezone=str(options["timezone"]),
        holidays=tuple(options["holidays"]),  # type: ignore[arg-type]
        pause_when_pending=bool(options["pause_when_pending"]),
        warn_before=str(options["warn_before"]),
    )
    open_desk()
    policy = clocks.add_policy(name, terms)
    if as_json:
        echo_json(sla_policies.describe(policy))
        return
    say(f"SLA policy {policy.name} added: {sla_policies.summary(policy)}")


@sla.command("list")
@json_option
@handle_errors
def sla_list(as_json: bool) -> None:
    """List the policies."""
    from deskterm.desk import sla_policies

    open_desk()
    policies = sla_policies.all_policies()
    if as_json:
        echo_json([sla_policies.describe(p) for p in policies])
        return
    if not policies:
        say("No SLA policies; `deskterm sla add NAME --first-response 4h` adds one.")
    for policy in policies:
        say(sla_policies.summary(policy))


@sla.command("show")
@click.argument("name", shell_complete=complete_policies)
@json_option
@handle_errors
def sla_show(name: str, as_json: bool) -> None:
    """Show one policy."""
    from deskterm.desk import sla_policies

    open_desk()
    item = sla_policies.describe(sla_policies.get(name))
    if as_json:
        echo_json(item)
        return
    for key, value in item.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        say(f"{key:<24} {one_line(str('-' if shown in (None, '') else shown))}")


@sla.command("remove")
@click.argument("name", shell_complete=complete_policies)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def sla_remove(name: str, yes: bool) -> None:
    """Remove a policy; the conversations it covered take the next matching one, or none."""
    from deskterm.desk import sla as clocks
    from deskterm.desk import sla_policies

    open_desk()
    policy = sla_policies.get(name)
    if not yes:
        if not click.get_text_stream("stdin").isatty():
            raise DeskError(f"Removing {policy.name} needs confirmation; add --yes to confirm.")
        click.confirm(f"Remove SLA policy {policy.name}?", abort=True)
    clocks.remove_policy(policy.name)
    say(f"SLA policy {policy.name} removed.")


@sla.command("notices")
@json_option
@handle_errors
def sla_notices(as_json: bool) -> None:
    """The warnings and breach notices sent (or being sent), newest first."""
    from deskterm.outbound import sla_notices as notices

    open_desk()
    rows = notices.recent()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("No SLA notices yet.")
    for row in rows:
        error = f" ({one_line(row['error'])})" if row["error"] else ""
        say(
            f"#{row['conversation']:<6} {row['kind']:<8} {row['target']:<15} due "
            f"{row['due_at']}  {row['state']} to {one_line(row['recipient'] or '-')}{error}"
        )
