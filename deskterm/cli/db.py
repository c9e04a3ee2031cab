"""`deskterm db ...`: the desk's database itself; `db migrate` moves an embedded desk into
PostgreSQL for a team (the copy is deskterm.store.move, the files deskterm.store.blobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deskterm import paths, settings
from deskterm.cli.console import echo_json, handle_errors, json_option, say
from deskterm.errors import DeskError


@click.group("db")
def db() -> None:
    """The desk's database: move a SQLite desk into PostgreSQL for a team."""


@db.command("migrate")
@click.option(
    "--to",
    "url",
    metavar="URL",
    help="The PostgreSQL desk, e.g. postgresql://desk@db.example/desk (default: "
    "DESKTERM_DATABASE_URL; keep the password in ~/.pgpass, not on the command line).",
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
