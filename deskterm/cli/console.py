"""What every command shares: the lines it prints, how it fails, the text a user hands it.

Every failure a user can cause or meet ends as one sentence on stderr and exit status 1;
anything else is a bug and says so in one line (with the traceback only under DESKTERM_DEBUG).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deskterm import paths, settings
from deskterm.cli.words import cli_sentence
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import clean, one_line, safe_json

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of lines."
)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DeskError as exc:  # may quote mail (an address, a subject): one clean line
            say(f"deskterm: {one_line(cli_sentence(exc))}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:  # `deskterm conversations | head`
            sys.stderr.close()
            sys.exit(0)
        except KeyboardInterrupt:
            say("deskterm: interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:
            if settings.current().debug:
                raise
            say(
                f"deskterm: unexpected error ({type(exc).__name__}); this is a bug, please "
                "report it, and set DESKTERM_DEBUG=1 to see the details.",
                err=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def open_existing_desk() -> None:
    """Open the desk for a command that only reads it: a desk not made yet is said so (with how
    to make one) rather than made empty as a side effect and listed as nothing."""
    home = paths.home_location()
    if home.is_dir():
        paths.home()  # a home other users can enter is refused before anything else is said
    if settings.current().database_url is None and not (home / paths.DATABASE_NAME).exists():
        raise DeskError(
            f"There is no desk in {home} (DESKTERM_HOME) yet; make one by adding a channel: "
            "`deskterm channel example > channel.toml`, edit it, then "
            "`deskterm channel add --file channel.toml` (or try `deskterm demo`)."
        )
    open_desk()


def completing(read: Callable[[], list[str]], incomplete: str) -> list[str]:
    """Shell completion from the desk: the words `read` gives that start with what was typed
    (any case), or nothing (never an error) where there is no desk yet or it cannot be opened:
    a Tab must not make an empty desk."""
    try:
        home = paths.home_location()
        if settings.current().database_url is None and not (home / paths.DATABASE_NAME).exists():
            return []
        open_desk()
        start = incomplete.lower()
        return [word for word in read() if word.lower().startswith(start)]
    except Exception:
        return []


def echo_json(data: Any) -> None:
    click.echo(safe_json(data))


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Every line the CLI prints, through the one sanitiser: what comes from mail or from a
    server (subjects, addresses, SMTP and IMAP replies, test details) never reaches the
    terminal with its control sequences."""
    click.echo(clean(text), err=err, nl=nl)


def read_text(path: Path) -> str:
    """A text the user names by file (a reply, a template), or `-` for standard input."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeskError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise DeskError(f"{path} is not UTF-8 text.") from None
