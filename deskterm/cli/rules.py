"""`deskterm rule ...`: the desk's routing rules (what happens to new mail before an agent
sees it), kept in the database and edited from rule files, as channels are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError

RULE_FILE = click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path),
    help="The rule file (TOML, or JSON when it ends in .json; `deskterm rule example`).",
)


def complete_rules(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The rules' names starting with what was typed; nothing where there is no desk yet."""
    from deskterm import paths, settings

    try:
        home = paths.home_location()
        if settings.current().database_url is None and not (home / "desk.sqlite3").exists():
            return []
        from deskterm.desk.rules import rulebook

        open_desk()
        return [name for name in rulebook.names() if name.startswith(incomplete)]
    except Exception:
        return []


@click.group("rule")
def rule() -> None:
    """Routing rules: priority, tags, assignee, status or skipping for new mail."""


@rule.command("example")
def rule_example() -> None:
    """Print a commented rule file to edit: `deskterm rule example > rule.toml`."""
    from deskterm.desk.rules.rulefile import EXAMPLE

    click.echo(EXAMPLE, nl=False)


@rule.command("add")
@RULE_FILE
@handle_errors
def rule_add(file: Path) -> None:
    """Add a rule from a file; it is asked after the rules there are (`rule move` reorders)."""
    from deskterm.desk.rules import rulebook

    added = rulebook.add(_checked_file(file))
    say(
        f"Rule {added.name!r} added at position {added.position}; "
        f"`deskterm rule test MAILFILE` shows what the rules do with a mail."
    )


@rule.command("edit")
@click.argument("name", shell_complete=complete_rules)
@RULE_FILE
@handle_errors
def rule_edit(name: str, file: Path) -> None:
    """Replace a rule with the one in a file; it keeps its place."""
    from deskterm.desk.rules import rulebook

    checked = _checked_file(file)
    row = rulebook.edit(name, checked)
    say(f"Rule {row.name!r} updated (position {row.position}).")


def _checked_file(file: Path) -> dict[str, Any]:
    """The rule file, checked with the desk open (its handles and channel must exist)."""
    from deskterm.desk.rules import rulefile
    from deskterm.outbound import macros  # noqa: F401 (registers the rules' `macro` action)

    open_desk()
    return rulefile.parse_file(file)


@rule.command("list")
@json_option
@handle_errors
def rule_list(as_json: bool) -> None:
    """List the rules in the order they are asked."""
    from deskterm.desk.rules import rulebook

    open_desk()
    rows = [rulebook.describe(r) for r in rulebook.all_rules()]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say(
            "No rules yet; `deskterm rule example > rule.toml`, edit it, then add it with "
            "`deskterm rule add --file rule.toml`."
        )
    for row in rows:
        scope, then = rulebook.scope_words(row), rulebook.actions_words(row["then"])
        say(f"{row['position']:>3} {row['name']:<24} {scope:<22} {then}")


@rule.command("show")
@click.argument("name", shell_complete=complete_rules)
@json_option
@handle_errors
def rule_show(name: str, as_json: bool) -> None:
    """Show one rule: where it applies, its conditions and its actions."""
    from deskterm.desk.rules import rulebook

    open_desk()
    row = rulebook.describe(rulebook.get(name))
    if as_json:
        echo_json(row)
        return
    say(f"{row['name']} (position {row['position']}, {rulebook.scope_words(row)})")
    say(f"when {row['match']} of:" if row["when"] else "when: every mail")
    for key, values in row["when"].items():
        say(f"   {key} = {', '.join(values)}")
    for key, values in row["unless"].items():
        say(f"unless {key} = {', '.join(values)}")
    stop = "; no later rule is asked" if row["stop"] else ""
    say(f"then: {rulebook.actions_words(row['then'])}{stop}")


@rule.command("move")
@click.argument("name", shell_complete=complete_rules)
@click.argument("position", type=click.IntRange(min=1))
@json_option
@handle_errors
def rule_move(name: str, position: int, as_json: bool) -> None:
    """Move a rule to POSITION (1: asked first)."""
    from deskterm.desk.rules import rulebook

    open_desk()
    place = rulebook.move(name, position)
    if as_json:
        echo_json([rulebook.describe(r) for r in rulebook.all_rules()])
        return
    say(f"Rule {name!r} is now at position {place}.")


@rule.command("remove")
@click.argument("name", shell_complete=complete_rules)
@handle_errors
def rule_remove(name: str) -> None:
    """Remove a rule (the messages it routed keep saying so)."""
    from deskterm.desk.rules import rulebook

    open_desk()
    rulebook.remove(name)
    say(f"Rule {name!r} removed.")


@rule.command("test")
@click.argument("mailfile", type=click.Path(path_type=Path), required=False)
@click.option(
    "--conversation",
    "conversation_id",
    type=int,
    help="Try the first mail of this conversation (as new, on its channel) instead of a file.",
)
@click.option("--channel", help="As mail of this channel (default: the desk's only one).")
@click.option("--reply", "follow_up", is_flag=True, help="As a follow-up, not a new one.")
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path),
    help="Try a rule file not added yet, in the place of the rule of its name (or last).",
)
@json_option
@handle_errors
def rule_test(
    mailfile: Path | None,
    conversation_id: int | None,
    channel: str | None,
    follow_up: bool,
    file: Path | None,
    as_json: bool,
) -> None:
    """Show what the rules would do with a mail (an .eml file, or a conversation's first
    mail), storing nothing."""
    from deskterm.desk.rules import rulefile, trial
    from deskterm.mail.parse import parse
    from deskterm.outbound import macros  # noqa: F401 (registers the rules' `macro` action)

    if (mailfile is None) == (conversation_id is None):
        raise DeskError("Give the mail to try: a MAILFILE, or --conversation ID (not both).")
    if conversation_id is not None:
        open_desk()
        unsaved = rulefile.parse_file(file) if file is not None else None
        found = trial.trial_conversation(conversation_id, unsaved=unsaved)
    else:
        assert mailfile is not None
        try:
            raw = mailfile.read_bytes()
        except OSError as exc:
            raise DeskError(f"Cannot read {mailfile}: {exc.strerror}.") from None
        open_desk()
        unsaved = rulefile.parse_file(file) if file is not None else None
        found = trial.trial(
            parse(raw), trial.channel_for(channel), follow_up=follow_up, unsaved=unsaved
        )
    if as_json:
        echo_json(found)
        return
    _say_trial(found)


def _say_trial(found: dict[str, Any]) -> None:
    from deskterm.desk.rules import trial

    for line in trial.lines(found):
        say(line)
