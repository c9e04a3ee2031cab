"""What every process of the desk does first, the CLI's and the app's alike."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from deskterm import paths
from deskterm.store import connection

T = TypeVar("T")


def open_desk() -> None:
    """Open the database (migrating it) and send details to the desk's log file."""
    with_stored_password(connection.database_url(), connection.open_database)
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


def with_stored_password(url: str | None, connect: Callable[[], T]) -> T:
    """`connect()` as libpq signs in (the URL, then ~/.pgpass or PGPASSFILE); only when the
    database then asks for a password the URL does not carry, the secret store is read once
    (`deskterm db password`) and `connect()` tried again. A desk that signs in through
    ~/.pgpass so never opens the store: with a vault, that would ask for its passphrase (or
    spend its key derivation) on every command. A second refusal is the connection's own
    sentence, which then also says why the store held nothing usable."""
    try:
        return connect()
    except connection.PasswordWanted:
        if url is None or connection.remembered(url) or not connection.needs_stored_password(url):
            raise
    load_database_password(url)
    return connect()


def load_database_password(url: str) -> None:
    """Look up the password `deskterm db password` stored for a PostgreSQL desk whose URL
    carries none, and hand it to store.connection (which may not open the secret store
    itself): once a process, and never for an SQLite desk or a URL with its own password.

    A store that cannot be opened (a vault without its passphrase in a script) counts as
    holding none: the desk may well sign in through ~/.pgpass, and if it does not, the
    connection's own sentence names `deskterm db password`, or says why the store was not read.
    """
    if not connection.needs_stored_password(url) or connection.remembered(url):
        return
    from deskterm.errors import SecretError
    from deskterm.secrets.store import open_secret_store

    try:
        password = open_secret_store().get(connection.password_key(url))
    except SecretError as exc:
        connection.remember_password(url, None, unread=str(exc))
        return
    connection.remember_password(url, password)
