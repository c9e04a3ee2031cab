"""`deskterm db password`: a team desk whose URL carries no password signs in with the one kept
in the secret store, on every connection deskterm makes (peewee's, the advisory locks', the
LISTEN one), against the suite's real PostgreSQL with SCRAM passwords; libpq's PGPASSFILE
still works, and an SQLite desk never opens the secret store for it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from deskterm.engine import startup
from deskterm.store import advisory, connection, live
from deskterm.store.models import Conversation
from tests.conftest import Desk

pytestmark = pytest.mark.postgres


def _password(url: str) -> str:
    password = connection.url_password(url)
    assert password
    return password


def _deskterm(
    *args: str, url: str, home: Path, input: str | None = None, locked: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (so nothing is remembered between runs), with
    no ~/.pgpass to fall back on unless the test gives PGPASSFILE; `locked`: without the
    vault's passphrase (and no terminal to ask on)."""
    environment = {
        **{k: v for k, v in os.environ.items() if not (locked and k == "DESKTERM_PASSPHRASE")},
        "DESKTERM_HOME": str(home),
        "DESKTERM_DATABASE_URL": url,
        "PGPASSFILE": str(home.parent / "no-pgpass"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "deskterm.cli.main", *args],
        env=environment,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per opening of the secret store from here on, and no password remembered."""
    from deskterm.secrets import store

    openings: list[int] = []
    real = store.open_secret_store

    def counting(*args: object, **kwargs: object) -> store.SecretStore:
        openings.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "open_secret_store", counting)
    monkeypatch.setattr(connection, "_remembered", {})
    return openings


@pytest.fixture
def bare_url(pg_desk_url: str) -> str:
    """The test's fresh database, its URL without the password (as a team desk's should be)."""
    connection.close_database()
    return connection.shown_url(pg_desk_url)


def test_a_stored_password_opens_the_desk_and_is_kept_nowhere_else(
    desk_home: Path, bare_url: str, pg_desk_url: str
) -> None:
    password = _password(pg_desk_url)
    before = _deskterm("conversations", url=bare_url, home=desk_home)
    assert before.returncode == 1
    assert before.stderr.count("\n") == 1 and "`deskterm db password`" in before.stderr
    assert "asks for a password" in before.stderr

    stored = _deskterm("db", "password", "--stdin", url=bare_url, home=desk_home, input=password)
    assert stored.returncode == 0, stored.stderr
    assert "is stored (vault)" in stored.stdout

    after = _deskterm("conversations", url=bare_url, home=desk_home)
    assert after.returncode == 0, after.stderr
    for result in (before, stored, after):
        assert password not in result.stdout + result.stderr
    # Not in the desk's files (the vault is encrypted), nor in its database.
    for path in desk_home.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    with psycopg2.connect(pg_desk_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = [row[0] for row in cur.fetchall()]
        assert "channel" in tables
        for table in tables:
            cur.execute(f'SELECT t::text FROM "{table}" t')
            assert all(password not in row[0] for row in cur.fetchall()), table


def test_locks_and_live_updates_use_the_stored_password(
    desk: Desk, bare_url: str, pg_desk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_DATABASE_URL", bare_url)
    monkeypatch.setenv("PGPASSFILE", str(desk.home.parent / "no-pgpass"))
    monkeypatch.setattr(connection, "_remembered", {})
    desk.run("db", "password", "--stdin", input=_password(pg_desk_url) + "\n")
    monkeypatch.setattr(connection, "_remembered", {})  # read from the store, as a new process

    startup.open_desk()
    locks = connection.channel_locks()
    assert locks is not None
    try:
        assert locks.try_lock(advisory.desk_key("a test"))
    finally:
        locks.close()
    heard = threading.Event()
    listener = live.follow(lambda changes: heard.set())
    assert isinstance(listener, live.PgListener)
    try:
        assert listener.listening.wait(30), "the LISTEN connection never signed in"
    finally:
        listener.stop()


def test_a_wrong_password_is_one_sentence(desk_home: Path, bare_url: str) -> None:
    _deskterm("db", "password", "--stdin", url=bare_url, home=desk_home, input="not-it\n")
    result = _deskterm("conversations", url=bare_url, home=desk_home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "refused the password" in result.stderr and "`deskterm db password`" in result.stderr
    assert "not-it" not in result.stderr


def test_forget_removes_it(desk_home: Path, bare_url: str, pg_desk_url: str) -> None:
    password = _password(pg_desk_url)
    _deskterm("db", "password", "--stdin", url=bare_url, home=desk_home, input=password)
    forgot = _deskterm("db", "password", "--forget", url=bare_url, home=desk_home)
    assert forgot.returncode == 0 and "no longer stored" in forgot.stdout
    assert _deskterm("conversations", url=bare_url, home=desk_home).returncode == 1


def test_pgpassfile_still_works_without_the_store(
    desk_home: Path, bare_url: str, pg_desk_url: str, tmp_path: Path
) -> None:
    parts = urlsplit(pg_desk_url)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(
        f"{parts.hostname}:{parts.port}:{parts.path.lstrip('/')}:{parts.username}:"
        f"{_password(pg_desk_url)}\n"
    )
    pgpass.chmod(0o600)
    result = _deskterm("conversations", url=bare_url, home=desk_home, PGPASSFILE=str(pgpass))
    assert result.returncode == 0, result.stderr


def test_a_vault_without_its_passphrase_is_said_and_pgpass_needs_none(
    desk_home: Path, bare_url: str, pg_desk_url: str, tmp_path: Path
) -> None:
    other = bare_url.rsplit("/", 1)[0] + "/another"
    made = _deskterm("db", "password", "--stdin", url=other, home=desk_home, input="x\n")
    assert made.returncode == 0, made.stderr  # the vault now exists
    refused = _deskterm("conversations", url=bare_url, home=desk_home, locked=True)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "secret store that may hold it could not be read" in refused.stderr
    assert "DESKTERM_PASSPHRASE" in refused.stderr

    parts = urlsplit(pg_desk_url)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:{parts.username}:{_password(pg_desk_url)}\n")
    pgpass.chmod(0o600)
    given = _deskterm(
        "conversations", url=bare_url, home=desk_home, locked=True, PGPASSFILE=str(pgpass)
    )
    assert given.returncode == 0, given.stderr


def test_two_databases_have_two_keys(bare_url: str) -> None:
    other = bare_url.rsplit("/", 1)[0] + "/another"
    assert connection.password_key(bare_url) != connection.password_key(other)
    assert connection.password_key(bare_url).startswith("database/desk@")
    assert _password_free(connection.password_key(bare_url))
    # libpq also takes the user and host as parameters: two such desks are two keys too.
    key = connection.password_key
    assert key("postgresql:///desk?user=kim&host=db1") == "database/kim@db1:5432/desk/password"
    assert key("postgresql:///desk?user=kim&host=db1") != key("postgresql:///desk?user=sam")
    assert key("postgresql://kim@db1/desk") == key("postgresql:///desk?user=kim&host=db1")


def _password_free(key: str) -> bool:
    return ":" not in key.partition("@")[0]


def test_a_url_with_a_password_is_refused(desk: Desk, pg_desk_url: str) -> None:
    result = desk.run("db", "password", "--url", pg_desk_url, "--stdin", input="x\n", ok=False)
    assert result.exit_code == 1 and "carries its own password" in result.stderr
    assert _password(pg_desk_url) not in result.output


def test_the_store_is_asked_once_and_only_where_it_helps(
    desk: Desk,
    bare_url: str,
    pg_desk_url: str,
    monkeypatch: pytest.MonkeyPatch,
    opened: list[int],
) -> None:
    # SQLite: never.
    startup.open_desk()
    connection.close_database()
    # A URL carrying its password: never.
    monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
    startup.open_desk()
    connection.close_database()
    assert opened == []
    # A URL without one: once a process, however often the desk is opened.
    monkeypatch.setenv("DESKTERM_DATABASE_URL", bare_url)
    desk.run("db", "password", "--stdin", input=_password(pg_desk_url) + "\n")
    opened.clear()
    monkeypatch.setattr(connection, "_remembered", {})
    startup.open_desk()
    connection.close_database()
    startup.open_desk()
    assert opened == [1]


def test_no_password_and_no_postgresql_say_what_to_do(desk: Desk) -> None:
    result = desk.run("db", "password", "--stdin", input="x\n", ok=False)
    assert result.exit_code == 1 and "DESKTERM_DATABASE_URL" in result.stderr


def test_migrate_to_a_url_without_password_uses_the_stored_one(
    desk: Desk, demo_desk: None, bare_url: str, pg_desk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSFILE", str(desk.home.parent / "no-pgpass"))
    monkeypatch.setattr(connection, "_remembered", {})
    refused = desk.run("db", "migrate", "--to", bare_url, ok=False)
    assert refused.exit_code == 1 and "deskterm db password --url URL" in refused.stderr
    desk.run("db", "password", "--url", bare_url, "--stdin", input=_password(pg_desk_url) + "\n")
    monkeypatch.setattr(connection, "_remembered", {})  # read from the store, as a new process
    moved = desk.run("db", "migrate", "--to", bare_url)
    assert "Verified: every table" in moved.stdout
    assert "process list" not in moved.stderr
    assert _password(pg_desk_url) not in moved.output


def _pgpass(tmp_path: Path, url: str, password: str) -> Path:
    parts = urlsplit(url)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{parts.hostname}:{parts.port}:*:{parts.username}:{password}\n")
    pgpass.chmod(0o600)
    return pgpass


def test_a_desk_that_signs_in_through_pgpass_never_opens_the_store(
    desk: Desk,
    bare_url: str,
    pg_desk_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    opened: list[int],
) -> None:
    """With a vault on the machine (a worker's server keeps the channels' secrets in one),
    opening the store would ask for its passphrase, or spend its key derivation, on every
    command; libpq's ~/.pgpass is tried first, and the store only when it did not do."""
    monkeypatch.setenv("DESKTERM_DATABASE_URL", bare_url)
    desk.run("db", "password", "--stdin", input=_password(pg_desk_url) + "\n")  # a vault now
    opened.clear()
    monkeypatch.setattr(connection, "_remembered", {})
    monkeypatch.setenv("PGPASSFILE", str(_pgpass(tmp_path, bare_url, _password(pg_desk_url))))
    startup.open_desk()
    connection.close_database()
    assert opened == []
    # A ~/.pgpass whose password the server refuses: then the store's, which it takes.
    monkeypatch.setenv("PGPASSFILE", str(_pgpass(tmp_path, bare_url, "not-it")))
    startup.open_desk()
    assert opened == [1]
    assert Conversation.select().count() == 0  # connected: the desk answers
