"""`deskterm contact ...`: a contact by any of its addresses, its aliases and organization."""

from __future__ import annotations

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.cli.organizations import complete_names
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import one_line


@click.group("contact")
def contact() -> None:
    """A contact and its other addresses (aliases)."""


@contact.command("show")
@click.argument("address")
@json_option
@handle_errors
def show(address: str, as_json: bool) -> None:
    """The contact an address belongs to (its own or an alias)."""
    from deskterm.desk import contacts

    open_desk()
    found = contacts.describe(address)
    if as_json:
        echo_json(found)
        return
    say(f"{one_line(found['email'])}  {one_line(found['name'])}".rstrip())
    if found["organization"]:
        say(f"  organization: {one_line(found['organization'])}")
    aliases = ", ".join(one_line(a) for a in found["aliases"])
    say(f"  aliases: {aliases or 'none'}")
    for line in contacts.field_lines(found["fields"]):
        say(f"  {line}")
    say(f"  conversations: {found['conversations']}")
    for row in found["recent"]:
        subject = one_line(row["subject"] or "(no subject)")[:60]
        say(f"    #{row['id']:<6} {row['status']:<9} {subject}")


@contact.command("alias")
@click.argument("primary")
@click.argument("alias")
@handle_errors
def alias(primary: str, alias: str) -> None:
    """File mail from ALIAS under the contact PRIMARY (merging ALIAS's contact into it)."""
    from deskterm.desk import contacts

    open_desk()
    done = contacts.add_alias(primary, alias)
    merged = f"; {done['merged']} conversation(s) moved over" if done["merged"] else ""
    alias, contact = one_line(done["alias"]), one_line(done["contact"])
    say(f"{alias} is now an alias of {contact}{merged}.")


@contact.command("unalias")
@click.argument("alias")
@handle_errors
def unalias(alias: str) -> None:
    """Stop filing mail from ALIAS under its contact (its conversations stay there)."""
    from deskterm.desk import contacts

    open_desk()
    primary = one_line(contacts.remove_alias(alias))
    address = one_line(contacts.normal_address(alias))
    say(f"{address} is no longer an alias of {primary}.")


@contact.command("move")
@click.argument("address")
@click.argument("organization", required=False, shell_complete=complete_names)
@click.option("--none", "to_none", is_flag=True, help="Take the contact out of its organization.")
@json_option
@handle_errors
def move(address: str, organization: str | None, to_none: bool, as_json: bool) -> None:
    """Put the contact ADDRESS in ORGANIZATION (by name), or in none with --none. Mail from
    its domain later does not move it back."""
    from deskterm.desk import organizations

    if bool(organization) == to_none:
        raise DeskError("Name the organization to move the contact to, or give --none.")
    open_desk()
    done = organizations.move_contact(address, None if to_none else organization)
    if as_json:
        echo_json(done)
        return
    where = f"in {one_line(done['to'])!r}" if done["to"] else "in no organization"
    say(f"{one_line(done['contact'])} is now {where}.")
