"""What every process of the desk does first, the CLI's and the app's alike."""

from __future__ import annotations

import logging

from deskterm import paths
from deskterm.store import connection


def open_desk() -> None:
    """Open the database (migrating it) and send details to the desk's log file."""
    connection.open_database()
    _log_to_file()


def _log_to_file() -> None:
    """Details (tracebacks of bugs) go to the desk's log file, never to the user's screen."""
    # Here, not at the top: `deskterm --version` and every Tab completion import this module.
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger("deskterm")
    if root.handlers:
        return
    handler = RotatingFileHandler(
        paths.home() / "deskterm.log", maxBytes=5_000_000, backupCount=2, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
