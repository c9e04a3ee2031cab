"""`deskterm contact ...`: a contact by any of its addresses, and its aliases."""

from __future__ import annotations

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.engine.startup import open_desk
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
    say(f"  conversations: {found['conversations']}")


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
