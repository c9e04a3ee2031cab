"""`deskterm org ...`: the customers' organizations and the mail domains that are theirs.

What adding and removing a domain does to existing contacts is the engine's one rule
(`deskterm.desk.organizations`); these commands say how many contacts it moved.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from deskterm.cli.console import completing, echo_json, handle_errors, json_option, say
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import one_line


def complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The organizations' names starting with what was typed, for shell completion."""

    def names() -> list[str]:
        from deskterm.desk import organizations

        return organizations.names()

    return completing(names, incomplete)


def _contacts(count: int) -> str:
    return f"{count} contact{'s' if count != 1 else ''}"


def _conversations(count: int) -> str:
    return f"{count} conversation{'s' if count != 1 else ''}"


@click.group("org")
def org() -> None:
    """Organizations (customers) and their mail domains: mail from a domain files its new
    contacts under the organization."""


@org.command("add")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, help="A mail domain of it (repeatable).")
@handle_errors
def org_add(name: str, domains: tuple[str, ...]) -> None:
    """Add an organization; each --domain links that domain's contacts without one."""
    from deskterm.desk import organizations

    open_desk()
    done = organizations.add(name, list(domains))
    linked = f"; {_contacts(done['linked'])} joined it" if done["linked"] else ""
    say(f"Organization {one_line(done['name'])!r} added{linked}.")


@org.command("list")
@json_option
@handle_errors
def org_list(as_json: bool) -> None:
    """The organizations, with their domains and how many contacts and conversations."""
    from deskterm.desk import organizations

    open_desk()
    rows = organizations.all_organizations()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("No organizations yet: `deskterm org add NAME --domain example.com` adds one.")
    for row in rows:
        domains = ", ".join(row["domains"]) or "no domain"
        say(
            f"{one_line(row['name'])[:30]:<30} {row['contacts']:>6} contacts "
            f"{row['conversations']:>6} conversations  {one_line(domains)}"
        )


@org.command("show")
@click.argument("name", shell_complete=complete_names)
@json_option
@handle_errors
def org_show(name: str, as_json: bool) -> None:
    """An organization: its domains, contacts and conversations (the newest listed)."""
    from deskterm.desk import organizations

    open_desk()
    found = organizations.describe(name)
    if as_json:
        echo_json(found)
        return
    say(one_line(found["name"]))
    say(f"  domains: {one_line(', '.join(found['domains'])) or 'none'}")
    say(f"  contacts: {found['contact_count']}")
    for contact in found["contacts"]:
        line = f"{one_line(contact['email'])}  {one_line(contact['name'])}".rstrip()
        say(f"    {line}  ({_conversations(contact['conversations'])})")
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(found["by_status"].items()))
    say(f"  conversations: {found['conversations']}" + (f" ({statuses})" if statuses else ""))
    for row in found["recent"]:
        say(_conversation_line(row))


def _conversation_line(row: dict[str, Any]) -> str:
    subject = one_line(row["subject"] or "(no subject)")[:60]
    return f"    #{row['id']:<6} {row['status']:<9} {subject}  {one_line(row['contact'] or '')}"


@org.command("remove")
@click.argument("name", shell_complete=complete_names)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@handle_errors
def org_remove(name: str, yes: bool) -> None:
    """Remove an organization and its domains; its contacts and conversations stay."""
    from deskterm.desk import organizations

    open_desk()
    found = organizations.get(name)
    if not yes:
        if not sys.stdin.isatty():
            raise DeskError(
                f"Removing {one_line(found.name)!r} needs confirmation; add --yes to confirm."
            )
        click.confirm(
            f"Remove organization {one_line(found.name)!r}? Its contacts stay, without one.",
            abort=True,
            default=False,
        )
    done = organizations.remove(found.name)
    unlinked = f"; {_contacts(done['unlinked'])} left without one" if done["unlinked"] else ""
    say(f"Organization {one_line(done['name'])!r} removed{unlinked}.")


@org.group("domain")
def domain() -> None:
    """An organization's mail domains."""


@domain.command("add")
@click.argument("name", shell_complete=complete_names)
@click.argument("domain_name", metavar="DOMAIN")
@handle_errors
def domain_add(name: str, domain_name: str) -> None:
    """Give NAME the mail domain DOMAIN: its contacts without an organization join it."""
    from deskterm.desk import organizations

    open_desk()
    done = organizations.add_domain(name, domain_name)
    say(
        f"{done['domain']} now belongs to {one_line(done['name'])!r}; "
        f"{_contacts(done['linked'])} joined it."
    )


@domain.command("remove")
@click.argument("domain_name", metavar="DOMAIN")
@handle_errors
def domain_remove(domain_name: str) -> None:
    """Take DOMAIN from its organization: that organization's contacts of it are unlinked."""
    from deskterm.desk import organizations

    open_desk()
    done = organizations.remove_domain(domain_name)
    say(
        f"{done['domain']} no longer belongs to {one_line(done['name'])!r}; "
        f"{_contacts(done['unlinked'])} left it."
    )
