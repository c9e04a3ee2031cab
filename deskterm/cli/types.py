"""`deskterm type ...` and `deskterm field ...`: conversation types and their custom fields
(an admin's definitions), and a conversation's type and field values (any agent's, but for
fields restricted to admins)."""

from __future__ import annotations

from typing import Any

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, open_existing_desk, say
from deskterm.engine.startup import open_desk
from deskterm.errors import ConfigError
from deskterm.sanitize import one_line

KINDS = ("text", "number", "date", "choice", "agent")  # deskterm.desk.field_values.KINDS


def complete_types(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The types' names starting with what was typed (nothing where there is no desk)."""
    from deskterm import paths, settings

    try:
        home = paths.home_location()
        if settings.current().database_url is None and not (home / "desk.sqlite3").exists():
            return []
        from deskterm.desk import types

        open_desk()
        return [name for name in types.names() if name.startswith(incomplete.lower())]
    except Exception:
        return []


@click.group("type")
def type_group() -> None:
    """Conversation types (question, incident, billing) and the fields each has."""


@type_group.command("add")
@click.argument("name")
@click.option("--description", default="", help="What the type is for, for agents.")
@handle_errors
def type_add(name: str, description: str) -> None:
    """Define a conversation type (an admin's task); `field add` gives it fields."""
    from deskterm.desk import types

    open_desk()
    added = types.add(name, description)
    say(f"Type {added.name} added; give it fields with `deskterm field add {added.name} NAME`.")


@type_group.command("edit")
@click.argument("name", shell_complete=complete_types)
@click.option("--description", required=True, help="What the type is for, for agents.")
@handle_errors
def type_edit(name: str, description: str) -> None:
    """Describe a type anew (its name stays: rules, macros and channels name it)."""
    from deskterm.desk import types

    open_desk()
    say(f"Type {types.edit(name, description).name} described anew.")


@type_group.command("list")
@json_option
@handle_errors
def type_list(as_json: bool) -> None:
    """List the conversation types and their fields."""
    from deskterm.desk import types

    open_existing_desk()
    rows = [types.describe(t) for t in types.all_types()]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("No types yet: `deskterm type add NAME` defines one.")
    for row in rows:
        names = ", ".join(f["name"] for f in row["fields"]) or "no fields"
        say(f"{row['name']:<16} {one_line(row['description'])[:40]:<40} {names}")


@type_group.command("show")
@click.argument("name", shell_complete=complete_types)
@json_option
@handle_errors
def type_show(name: str, as_json: bool) -> None:
    """Show a type and its fields."""
    from deskterm.desk import types

    open_existing_desk()
    data = types.describe(types.get(name))
    if as_json:
        echo_json(data)
        return
    say(f"{data['name']}: {one_line(data['description']) or '(no description)'}")
    for field in data["fields"]:
        say("  " + _field_line(field))


def _field_line(field: dict[str, Any]) -> str:
    marks = [m for m in ("required", "restricted") if field[m]]
    choices = f" ({', '.join(one_line(c) for c in field['choices'])})" if field["choices"] else ""
    default = f", default {one_line(field['default'])}" if field["default"] is not None else ""
    extra = f", {', '.join(marks)}" if marks else ""
    return f"{field['name']}: {field['kind']}{choices}{default}{extra}"


@type_group.command("remove")
@click.argument("name", shell_complete=complete_types)
@handle_errors
def type_remove(name: str) -> None:
    """Remove a type: its conversations become untyped and lose its fields' values."""
    from deskterm.desk import types

    open_desk()
    had = types.remove(name)
    said = f"; {had} conversation(s) are untyped now" if had else ""
    say(f"Type {one_line(name).lower()} removed{said}.")


@type_group.command("set")
@click.argument("conversation_id", type=int)
@click.argument("name", required=False, shell_complete=complete_types)
@click.option("--none", "untyped", is_flag=True, help="Leave the conversation untyped.")
@json_option
@handle_errors
def type_set(conversation_id: int, name: str | None, untyped: bool, as_json: bool) -> None:
    """Give a conversation a type (its channel may allow only some), or none."""
    from deskterm.desk import types

    if (name is None) == (not untyped):
        raise ConfigError("Name the type, or pass --none to leave the conversation untyped.")
    open_desk()
    now = types.set_type(conversation_id, name)
    _done(conversation_id, f"of type {now}" if now else "untyped", as_json)


@click.group("field")
def field_group() -> None:
    """Custom fields: defined per type (`field add`), set per conversation (`field set`)."""


@field_group.command("add")
@click.argument("type_name", metavar="TYPE", shell_complete=complete_types)
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(KINDS), default="text", show_default=True, help="What it holds."
)
@click.option("--choice", "choices", multiple=True, help="A choice field's value (repeat).")
@click.option("--default", help="The value a new conversation of the type gets.")
@click.option("--required", is_flag=True, help="It may never be emptied.")
@click.option("--restricted", is_flag=True, help="Only admins may change it.")
@handle_errors
def field_add(
    type_name: str,
    name: str,
    kind: str,
    choices: tuple[str, ...],
    default: str | None,
    required: bool,
    restricted: bool,
) -> None:
    """Give a type a field (an admin's task)."""
    from deskterm.desk import types

    open_desk()
    added = types.add_field(
        type_name,
        name,
        kind,
        choices=list(choices),
        default=default,
        required=required,
        restricted=restricted,
    )
    say(f"Field {added.name} added to type {one_line(type_name).lower()}.")


@field_group.command("edit")
@click.argument("type_name", metavar="TYPE", shell_complete=complete_types)
@click.argument("name")
@click.option("--choice", "choices", multiple=True, help="The choices, all of them (repeat).")
@click.option("--default", help="The value new conversations get ('' for none).")
@click.option("--required/--optional", default=None, help="Whether it may be emptied.")
@click.option("--restricted/--unrestricted", default=None, help="Whether only admins change it.")
@handle_errors
def field_edit(
    type_name: str,
    name: str,
    choices: tuple[str, ...],
    default: str | None,
    required: bool | None,
    restricted: bool | None,
) -> None:
    """Change a field's choices, default or marks (an admin's task); what is not given stays.
    Its name and kind stay: remove it and add it again for those."""
    from deskterm.desk import types

    open_desk()
    field = types.get_field(type_name, name)
    types.edit_field(
        type_name,
        name,
        choices=list(choices) if choices else list(field.choices or []),
        default=field.default if default is None else default,
        required=field.required if required is None else required,
        restricted=field.restricted if restricted is None else restricted,
    )
    say(f"Field {field.name} of type {one_line(type_name).lower()} changed.")


@field_group.command("remove")
@click.argument("type_name", metavar="TYPE", shell_complete=complete_types)
@click.argument("name")
@handle_errors
def field_remove(type_name: str, name: str) -> None:
    """Remove a field from a type, with its values (an admin's task)."""
    from deskterm.desk import types

    open_desk()
    types.remove_field(type_name, name)
    say(f"Field {one_line(name).lower()} removed from type {one_line(type_name).lower()}.")


@field_group.command("set")
@click.argument("conversation_id", type=int)
@click.argument("name")
@click.argument("value")
@json_option
@handle_errors
def field_set(conversation_id: int, name: str, value: str, as_json: bool) -> None:
    """Set a conversation's field (an empty VALUE clears it)."""
    from deskterm.desk import fields

    open_desk()
    kept = fields.set_value(conversation_id, name, value)
    shown = f"{one_line(name).lower()} = {one_line(kept)}" if kept else f"{name} cleared"
    _done(conversation_id, shown, as_json)


def _done(conversation_id: int, said: str, as_json: bool) -> None:
    from deskterm.desk import queries

    if as_json:
        detail = queries.conversation_detail(conversation_id)
        echo_json({"id": conversation_id, "type": detail["type"], "fields": detail["fields"]})
    else:
        say(f"#{conversation_id}: {said}.")
