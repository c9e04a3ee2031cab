"""Commands that open the terminal UI: the desk itself and the demo desk."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from deskterm.cli.console import handle_errors, say


@click.command("demo")
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo desk in DIR (made if missing) instead of a throwaway one.",
)
@click.option("--no-ui", is_flag=True, help="Only build the demo desk and say where it is.")
@click.option(
    "--extra",
    type=click.IntRange(0, 2_000_000),
    default=0,
    help="Also add N made-up conversations (to a new demo desk), to try the list at scale.",
)
@handle_errors
def demo(home: Path | None, no_ui: bool, extra: int) -> None:
    """Open a demo desk filled with sample conversations (no mail server needed)."""
    from deskterm.demo.desk import add_synthetic, build_demo
    from deskterm.store import connection

    throwaway = home is None and not no_ui
    where = Path(tempfile.mkdtemp(prefix="deskterm-demo-")) if home is None else home
    # The demo must never write into a configured shared database.
    os.environ.pop("DESKTERM_DATABASE_URL", None)
    os.environ["DESKTERM_HOME"] = str(where.expanduser().resolve())
    try:
        result = build_demo(history=True)
        if extra and result.created:  # a kept demo desk does not grow on every run
            add_synthetic(extra)
        if no_ui:
            what = "built" if result.created else "already there"
            say(
                f"Demo desk {what} in {os.environ['DESKTERM_HOME']}: {result.ingested} "
                f"messages ingested, {result.skipped} skipped. Open it with "
                f"`DESKTERM_HOME={os.environ['DESKTERM_HOME']} deskterm`."
            )
            return
        connection.close_database()
        from deskterm.app import run_app

        run_app()
    finally:
        connection.close_database()
        if throwaway:
            shutil.rmtree(where, ignore_errors=True)


def open_ui() -> None:
    """The desk itself: `deskterm` without a command."""
    from deskterm.app import run_app

    handle_errors(run_app)()
