"""`deskterm note` and `deskterm mentions`: internal notes and the agents they name.

A note is for agents only (never sent); `@handle` in it mentions an agent, who finds it with
`deskterm mentions` (or `@` in the app). The rules are `deskterm.desk.notes`'s, as in the app.
"""

from __future__ import annotations

import sys

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, open_existing_desk, say
from deskterm.sanitize import clean, one_line


@click.command("note")
@click.argument("conversation_id", type=int)
@click.argument("text")
@json_option
@handle_errors
def note(conversation_id: int, text: str, as_json: bool) -> None:
    """Write an internal note on a conversation (TEXT, or `-` to read it from standard
    input): only agents see it, it is never sent; `@handle` mentions an agent."""
    from deskterm.desk import notes, queries

    open_existing_desk()
    written = notes.add(conversation_id, sys.stdin.read() if text == "-" else text)
    if as_json:
        echo_json(queries.note_item(written))
        return
    named = [f"@{m.agent.handle}" for m in written.mentions]
    said = f", mentioning {', '.join(named)}" if named else ""
    say(f"Note added to #{conversation_id}{said}.")


@click.command("mentions")
@click.option("--all", "include_seen", is_flag=True, help="Also the mentions already seen.")
@click.option("--agent", "handle", help="Another agent's mentions (default: yours).")
@click.option(
    "--seen",
    "seen_id",
    type=int,
    metavar="ID",
    help="Mark your mentions in conversation ID seen (as opening it in the app does).",
)
@json_option
@handle_errors
def mentions(include_seen: bool, handle: str | None, seen_id: int | None, as_json: bool) -> None:
    """The notes that mention you (DESKTERM_AGENT, else your login), unseen first."""
    from deskterm.desk import notes, queries

    open_existing_desk()
    agent = notes.who(handle)
    if seen_id is not None:
        queries.get_conversation(seen_id)
        count = notes.mark_seen(seen_id, agent)
        if not as_json:
            say(f"{count} mention{'s' if count != 1 else ''} in #{seen_id} marked seen.")
            return
    rows = notes.mentions(agent, include_seen=include_seen)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("No mentions." if include_seen else "No unseen mentions (--all shows the seen).")
        return
    for row in rows:
        written = row["note"]
        by = one_line(written["author_name"] or "someone")
        mark = " " if row["seen"] else "*"
        say(
            f"{mark} #{row['conversation']['id']:<6} {written['date']}  {by}: "
            f"{one_line(row['conversation']['subject'])[:50]}"
        )
        first = one_line(clean(written["text"]))
        say(f"    {first[:100]}{'…' if len(first) > 100 else ''}")
