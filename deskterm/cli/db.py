"""`deskterm db ...`: the desk's database itself; `db migrate` moves an embedded desk into
PostgreSQL for a team (the copy is deskterm.store.move, the files deskterm.store.blobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deskterm import paths, settings
from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.cli.secrets import read_secret, secret_store
from deskterm.errors import DeskError


@click.group("db")
def db() -> None:
    """The desk's database: move a SQLite desk into PostgreSQL for a team, keep its password."""


@db.command("password")
@click.option(
    "--url",
    metavar="URL",
    help="The PostgreSQL desk whose password this is (default: DESKTERM_DATABASE_URL), "
    "e.g. the target of `db migrate --to`.",
)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--forget", is_flag=True, help="Remove the stored password instead.")
@handle_errors
def db_password(url: str | None, from_stdin: bool, forget: bool) -> None:
    """Keep the PostgreSQL desk's password in the secret store (the OS keyring or the vault),
    for a desk URL that carries none: every connection deskterm makes to it then uses it,
    over ~/.pgpass. For the service user on a server, ~/.pgpass is simpler."""
    from deskterm.store import connection

    url = url or settings.current().database_url
    if not url or not url.startswith("postgres"):
        raise DeskError(
            "This desk is not on PostgreSQL; set DESKTERM_DATABASE_URL (or give --url "
            "postgresql://user@host/name) to the desk whose password this is."
        )
    shown = connection.shown_url(url)
    if connection.url_password(url):
        raise DeskError(
            f"The URL of {shown} carries its own password, which would be used instead; "
            "remove it from the URL, then run `deskterm db password` again."
        )
    key = connection.password_key(url)
    where = key.removeprefix("database/").removesuffix("/password")
    store = secret_store()
    if forget:
        store.delete(key)
        connection.remember_password(url, None)
        say(f"The password of {where} is no longer stored ({store.status.name}).")
        return
    password = read_secret(f"Password of {where}", from_stdin)
    if not password:
        raise DeskError("The password is empty; nothing was stored.")
    store.set(key, password)
    connection.remember_password(url, password)
    say(f"The password of {where} is stored ({store.status.name}).")


@db.command("migrate")
@click.option(
    "--to",
    "url",
    metavar="URL",
    help="The PostgreSQL desk, e.g. postgresql://desk@db.example/desk (default: "
    "DESKTERM_DATABASE_URL; keep the password in ~/.pgpass or `deskterm db password "
    "--url URL`, not on the command line).",
)
@click.option(
    "--blob-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Copy raw mail and attachments into this shared directory, which every machine "
    "then names as DESKTERM_BLOB_DIR (default: DESKTERM_BLOB_DIR, if set).",
)
@json_option
@handle_errors
def migrate(url: str | None, blob_dir: Path | None, as_json: bool) -> None:
    """Copy the SQLite desk of DESKTERM_HOME into an empty PostgreSQL desk, keeping every id,
    and compare the rows of each table. Safe to run again: a target holding this same desk
    gets what it is missing; any other non-empty target is refused."""
    from deskterm.engine.startup import load_database_password
    from deskterm.store import blobs, connection, move

    current = settings.current()
    given = url is not None
    url = url or current.database_url
    if not url:
        raise DeskError(
            "Say where the PostgreSQL desk is: `deskterm db migrate --to "
            "postgresql://user@host/name` (or set DESKTERM_DATABASE_URL)."
        )
    blob_dir = blob_dir or current.blob_dir
    if given and connection.url_password(url):
        say(
            "deskterm: warning: a password in --to shows in the process list; keep it in "
            "~/.pgpass (or DESKTERM_DATABASE_URL) instead.",
            err=True,
        )
    load_database_password(url)
    shown = connection.shown_url(url)
    if not as_json:
        say(f"Moving the desk in {paths.home_location()} to {shown}:")
    result = move.move_desk(url, on_table=None if as_json else _print_table)
    files = blobs.copy_blobs(blob_dir) if blob_dir is not None else None
    if as_json:
        echo_json(_as_json(result, blob_dir, files))
    else:
        _print_outcome(result, blob_dir, files)
    short = [t.table for t in result.tables if t.target < t.source]
    if short:
        raise DeskError(
            f"{len(short)} table(s) of {shown} have fewer rows than the SQLite desk "
            f"({', '.join(short)}); stop the desk's worker and apps, then run "
            "`deskterm db migrate` again."
        )


def _print_table(count: Any) -> None:
    copied = f"  ({count.copied} copied)" if count.copied else ""
    mark = "" if count.matches else "  differs"
    say(f"  {count.table:<20} {count.source:>9} -> {count.target:<9}{copied}{mark}")


def _print_outcome(result: Any, blob_dir: Path | None, files: Any) -> None:
    if result.resumed and not result.copied:
        say(f"{result.target} already holds this desk; nothing was missing.")
    elif result.resumed:
        say(f"{result.target} held part of this desk; the {result.copied} missing rows are copied.")
    else:
        say(f"{result.copied} rows copied.")
    if result.verified:
        say("Verified: every table has as many rows in PostgreSQL as in the SQLite desk.")
    if files is not None:
        say(
            f"Raw mail and attachments: {files.copied} files copied to {blob_dir} "
            f"({files.present} already there); set DESKTERM_BLOB_DIR={blob_dir} on every machine."
        )
    else:
        say(
            "Raw mail and attachments stay in this desk's folder; for a team, run again with "
            "--blob-dir on a directory every machine shares (README, 'A team desk')."
        )
    say(f"Then set DESKTERM_DATABASE_URL={result.target} for every agent and worker.")


def _as_json(result: Any, blob_dir: Path | None, files: Any) -> dict[str, Any]:
    return {
        "target": result.target,
        "resumed": result.resumed,
        "copied": result.copied,
        "verified": result.verified,
        "tables": [
            {"table": t.table, "source": t.source, "target": t.target, "copied": t.copied}
            for t in result.tables
        ],
        "blob_dir": None if blob_dir is None else str(blob_dir),
        "files": None if files is None else {"copied": files.copied, "present": files.present},
    }
