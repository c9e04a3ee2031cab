"""Every test runs on a throwaway desk: its own DESKTERM_HOME, vault and passphrase.

Under DESKTERM_TEST_DATABASE=postgresql every test's desk is a fresh database on the suite's
real PostgreSQL instead of the embedded SQLite file (scripts/test runs tests/engine so as a
second pass): the same engine code must hold on both. A test about SQLite by nature (its file,
WAL, FTS5, pragmas, backups) is marked `sqlite_only` and skipped there. What would only repeat
the first pass is deselected: a test that already runs on PostgreSQL there (it asks for `pg`,
or is parametrized over both engines), and a module marked `without_database` (parsers,
sanitising, OAuth2, the vault: no desk at all; the SQLite pass fails such a test that makes one).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from deskterm.cli.main import main
from deskterm.store import connection, db

pytest_plugins = ["tests.servers.mailservers", "tests.servers.oauth", "tests.servers.pgserver"]

# The switch: which engine every test's desk is on ("sqlite", the default, or "postgresql").
TEST_DATABASE_VARIABLE = "DESKTERM_TEST_DATABASE"
TEST_DATABASES = ("sqlite", "postgresql")
# How a test parametrized over both engines names them (its params' values).
ENGINE_PARAMS = {"sqlite", "postgres", "postgresql"}
# Fixtures of the suite's PostgreSQL server: a test asking for one already runs on it.
PG_FIXTURES = {"pg", "pg_desk_url", "pg_url"}


def test_database() -> str:
    """The engine chosen for this run; an unknown value stops the run rather than quietly
    testing SQLite when PostgreSQL was asked for."""
    value = os.environ.get(TEST_DATABASE_VARIABLE, "").strip().lower() or "sqlite"
    if value not in TEST_DATABASES:
        raise pytest.UsageError(
            f"{TEST_DATABASE_VARIABLE}={value!r}: set it to one of {', '.join(TEST_DATABASES)}."
        )
    return value


test_database.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


def on_postgresql_pass() -> bool:
    """True when every test's desk is on PostgreSQL (the second pass of scripts/test)."""
    return test_database() == "postgresql"


def runs_on_postgresql_anyway(item: pytest.Item) -> bool:
    """Whether the first pass already runs this test on the suite's PostgreSQL: it asks for
    the server's fixtures, or it is one side of a test parametrized over both engines (whose
    SQLite side would be on PostgreSQL too under the switch)."""
    if PG_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and bool(ENGINE_PARAMS & set(map(str, callspec.params.values())))


def pytest_configure(config: pytest.Config) -> None:
    test_database()  # a typo in the switch fails at once


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass: deselect what would only repeat the first pass (a test that
    already runs on PostgreSQL there, or one `without_database`), and skip `sqlite_only`
    tests with their reason."""
    if not on_postgresql_pass():
        return
    kept, dropped = [], []
    for item in items:
        if runs_on_postgresql_anyway(item) or item.get_closest_marker("without_database"):
            dropped.append(item)
            continue
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"about SQLite by nature: {reason}"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def desk_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    home = tmp_path / "desk"
    monkeypatch.setenv("DESKTERM_HOME", str(home))
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "vault")
    monkeypatch.setenv("DESKTERM_PASSPHRASE", secrets.token_urlsafe(12))
    monkeypatch.delenv("DESKTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DESKTERM_DEBUG", raising=False)
    if on_postgresql_pass() and request.node.get_closest_marker("sqlite_only") is None:
        # What a test asking for `pg` gets: a fresh database, dropped afterwards.
        request.getfixturevalue("pg")
    yield home
    connection.close_database()
    # Forget this desk's database: a later test that forgets `open_database()` then fails
    # loudly instead of writing into this test's desk.
    db.database.initialize(None)
    if request.node.get_closest_marker("without_database") and (home / "desk.sqlite3").exists():
        # The marker leaves the test out of the PostgreSQL pass: it must not touch the desk.
        pytest.fail("marked without_database, but it made a desk; remove the marker")


@pytest.fixture
def boxes(mail_servers: Any) -> Any:
    """The suite's mail servers with the support, customer and sink mailboxes emptied, after
    Postfix has handed on what earlier tests left in flight (a late bounce or copy would
    otherwise land in this test's mailboxes)."""
    mail_servers.wait_until_queue_empty(deferred=False)
    for user in ("support@desk.test", "customer@desk.test", "sink@desk.test"):
        mail_servers.clear(user)
    mail_servers.clear("support@desk.test", "Sent")
    return mail_servers


@dataclass
class Desk:
    """Drives the real `deskterm` command in-process, as an admin or script would."""

    home: Path

    def run(self, *args: str, input: str | None = None, ok: bool = True) -> Result:
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
        connection.close_database()
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def add_channel(
        self, toml: str, *, inbound: str | None = None, outbound: str | None = None
    ) -> None:
        path = self.home.parent / "channel.toml"
        path.write_text(toml)
        self.run("channel", "add", "--file", str(path))
        name = tomllib.loads(toml)["name"]
        if inbound is not None:
            self.run("channel", "secret", name, "--inbound", "--stdin", input=inbound + "\n")
        if outbound is not None:
            self.run("channel", "secret", name, "--outbound", "--stdin", input=outbound + "\n")


@pytest.fixture
def desk(desk_home: Path) -> Desk:
    return Desk(desk_home)


class Desks:
    """Desks beside the test's own, as on other machines: each its own home and, on the
    PostgreSQL pass, its own fresh database (on SQLite the home holds the database), so two
    desks never share one by accident of the engine."""

    def __init__(
        self, own: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
    ) -> None:
        self._urls: dict[Path, str | None] = {own: os.environ.get("DESKTERM_DATABASE_URL")}
        self._monkeypatch = monkeypatch
        self._request = request
        self._dropped = contextlib.ExitStack()

    def env(self, home: Path) -> dict[str, str]:
        """The variables that select the desk at `home` (for a child's environment)."""
        # Imported here: a plugin (pytest_plugins) is imported by pytest itself, so that its
        # asserts are rewritten.
        from tests.servers.pgserver import fresh_database

        if home not in self._urls:
            self._urls[home] = (
                self._dropped.enter_context(fresh_database(self._request.getfixturevalue("pg_url")))
                if on_postgresql_pass()
                else None
            )
        url = self._urls[home]
        return {"DESKTERM_HOME": str(home), **({"DESKTERM_DATABASE_URL": url} if url else {})}

    def use(self, home: Path) -> Desk:
        """Make the desk at `home` this process's desk (as its own machine's shell would)."""
        connection.close_database()
        for name, value in self.env(home).items():
            self._monkeypatch.setenv(name, value)
        return Desk(home)

    def close(self) -> None:
        connection.close_database()  # before the databases are dropped
        self._dropped.close()


@pytest.fixture
def desks(
    desk_home: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Desks]:
    made = Desks(desk_home, monkeypatch, request)
    yield made
    made.close()


@pytest.fixture
def demo_desk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo desk (bundled mail through the real pipeline) at its fixed moment, with the
    demo's sam at the keyboard (DESKTERM_AGENT), so the app does not ask who is there."""
    from deskterm.demo import desk as demo

    demo.build_demo(now=demo.ANCHOR)
    monkeypatch.setenv("DESKTERM_AGENT", "sam")


# A channel that is never polled: tests of the engine apply batches to it directly.
DRAFT_CHANNEL = """
name = "support"
status = "draft"
[inbound]
protocol = "imap"
host = "mail.example.com"
username = "support@desk.test"
[outbound]
host = "mail.example.com"
username = "support@desk.test"
from = "Desk Support <support@desk.test>"
"""


ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Runs the test twice: on the embedded SQLite desk, and on a fresh PostgreSQL database
    (`pg`); the engine code must give the same results on both. Returns the engine's name."""
    if request.param == "postgres":
        request.getfixturevalue("pg")
    return str(request.param)


@pytest.fixture
def engine_channel(engine: str, request: pytest.FixtureRequest) -> Any:
    """`draft_channel` on each engine's desk (asked for after `engine` chose the desk)."""
    return request.getfixturevalue("draft_channel")


@pytest.fixture
def draft_channel(desk: Desk) -> Any:
    """DRAFT_CHANNEL added through the CLI, with the desk's database left open."""
    from deskterm.store.models import Channel

    desk.add_channel(DRAFT_CHANNEL)
    connection.open_database()
    return Channel.get(Channel.name == "support")


def channel_toml(
    servers: Any,
    name: str = "support",
    *,
    protocol: str = "imap",
    security: str = "ssl",
    port: int | None = None,
    inbound_extra: str = "",
    outbound_security: str = "starttls",
    outbound_port: int | None = None,
    extra: str = "",
    pinned: bool = True,
) -> str:
    """A channel file for the suite's real servers, trusting their certificate."""
    if port is None:
        port = {
            ("imap", "ssl"): servers.imaps_port,
            ("imap", "starttls"): servers.imap_port,
            ("imap", "none"): servers.imap_port,
            ("pop3", "ssl"): servers.pop3s_port,
        }[(protocol, security)]
    if outbound_port is None:
        outbound_port = (
            servers.smtps_port if outbound_security == "ssl" else servers.submission_port
        )
    trust = "allow_self_signed = true" if pinned else f'tls_ca_file = "{servers.cert_file}"'
    return f"""
name = "{name}"
status = "active"
{extra}
[inbound]
protocol = "{protocol}"
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "support@desk.test"
{trust}
max_age_days = 0
timeout = 10
{inbound_extra}
[outbound]
host = "127.0.0.1"
port = {outbound_port}
security = "{outbound_security}"
username = "support@desk.test"
from = "Desk Support <support@desk.test>"
{trust}
timeout = 10
"""


@pytest.fixture
def pg(pg_desk_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This test's desk is a fresh database on the suite's PostgreSQL."""
    monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
    yield pg_desk_url
    connection.close_database()  # before the database is dropped
