"""Every test runs on a throwaway desk: its own DESKTERM_HOME, vault and passphrase."""

from __future__ import annotations

import json
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


@pytest.fixture(autouse=True)
def desk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "desk"
    monkeypatch.setenv("DESKTERM_HOME", str(home))
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "vault")
    monkeypatch.setenv("DESKTERM_PASSPHRASE", secrets.token_urlsafe(12))
    monkeypatch.delenv("DESKTERM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DESKTERM_DEBUG", raising=False)
    yield home
    connection.close_database()
    # Forget this desk's database: a later test that forgets `open_database()` then fails
    # loudly instead of writing into this test's desk.
    db.database.initialize(None)


@pytest.fixture
def boxes(mail_servers: Any) -> Any:
    """The suite's mail servers with the support, customer and sink mailboxes emptied."""
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
