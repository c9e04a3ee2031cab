"""`deskterm channel auth` and the OAuth2 secrets, from the command line as an admin runs them.

The sign-in runs as a real `deskterm` process against the suite's OAuth2 server on 127.0.0.1:
the test reads the code it prints, then approves or declines it at the server as the person
at the browser would; a private server with 2-second device codes lets one expire.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
import segno

from deskterm import paths
from deskterm.channels import registry, tokens
from deskterm.channels.health import channel_state
from deskterm.cli.channels import qr_code
from deskterm.errors import AuthError
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection, db
from deskterm.store.models import Channel
from tests.conftest import DRAFT_CHANNEL, Desk
from tests.engine.test_oauth2_tokens import live_access_tokens, oauth_channel
from tests.servers.oauth import OAuthServer, private_oauth_server

WAIT = 60  # seconds a sign-in may take here before the test gives up on it


class SignIn:
    """`deskterm channel auth NAME` running, its first lines read up to the code."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deskterm.cli", "channel", "auth", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        self.head: list[str] = []
        for line in self.process.stdout:
            self.head.append(line)
            if line.startswith("Waiting"):
                break
        text = "".join(self.head)
        found = re.search(r"enter the code:\n\s+(\S+)\n", text)
        assert found, text + self.process.stderr.read()  # type: ignore[union-attr]
        self.code = found.group(1)

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=WAIT)
        return self.process.returncode, "".join(self.head) + out, err


def add(desk: Desk, server: OAuthServer, name: str = "support") -> Channel:
    desk.add_channel(oauth_channel(server, name))
    connection.open_database()
    row = Channel.get(Channel.name == name)
    connection.close_database()
    return row


def sign_in_state(desk: Desk, name: str = "support") -> dict[str, Any]:
    return desk.json("channel", "show", name)["oauth2_sign_in"]["oauth2"]


def stored_refresh_token(row: Channel) -> str | None:
    return open_secret_store().get(registry.secret_key(row, "oauth2", "refresh_token"))


def test_device_sign_in_approved(desk: Desk, oauth_server: OAuthServer) -> None:
    row = add(desk, oauth_server)
    assert sign_in_state(desk)["refresh_token"] == "none"
    signing = SignIn("support")
    head = "".join(signing.head)
    assert f"open {oauth_server.url}/approve and enter the code:" in head
    assert f"{oauth_server.url}/approve?user_code={signing.code}" in head  # the complete URI
    oauth_server.approve(signing.code)
    code, out, err = signing.finish()
    assert (code, err) == (0, "")
    last = out.strip().splitlines()[-1]
    assert last.startswith("Signed in: the refresh token of 'support' is stored (vault)")

    state = sign_in_state(desk)
    assert state["refresh_token"] == "stored" and state["refreshed_at"]
    assert state["used_by"] == ["inbound", "outbound"]
    refresh_token = stored_refresh_token(row)
    assert refresh_token
    connection.open_database()
    access = tokens.access_token(Channel.get_by_id(row.id), "inbound", open_secret_store())
    assert access in live_access_tokens(oauth_server)
    tokens.forget(row)
    connection.close_database()
    shown = desk.run("channel", "show", "support", "--json").stdout
    for token in (refresh_token, access):
        assert token not in out + err + shown
        for path in desk.home.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), path


def test_device_sign_in_declined(desk: Desk, oauth_server: OAuthServer) -> None:
    row = add(desk, oauth_server)
    signing = SignIn("support")
    oauth_server.deny(signing.code)
    code, _, err = signing.finish()
    assert code == 1
    assert err == (
        "deskterm: The sign-in was declined; run `deskterm channel auth support` to try again.\n"
    )
    assert stored_refresh_token(row) is None
    assert sign_in_state(desk)["refresh_token"] == "none"


def test_device_sign_in_expired(desk: Desk) -> None:
    with private_oauth_server(device_ttl=2) as server:
        row = add(desk, server)
        signing = SignIn("support")
        code, _, err = signing.finish()
    assert code == 1
    assert err.startswith("deskterm: The code expired before anyone signed in; run `deskterm ")
    assert len(err.splitlines()) == 1
    assert stored_refresh_token(row) is None


def test_a_pasted_refresh_token_and_a_client_secret(desk: Desk) -> None:
    """A server that wants the client secret: the token works once the secret is stored."""
    with private_oauth_server(require_secret=True) as server:
        row = add(desk, server)
        pasted = server.issue()
        result = desk.run(
            "channel", "secret", "support", "--refresh-token", "--stdin", input=f"  {pasted}\n"
        )
        assert "The OAuth2 refresh token of 'support' ([oauth2]) is stored" in result.stdout
        assert sign_in_state(desk)["refresh_token"] == "stored"
        assert stored_refresh_token(row) == pasted

        connection.open_database()
        channel = Channel.get_by_id(row.id)
        with pytest.raises(AuthError, match=r"invalid_client.*run `deskterm channel auth"):
            tokens.access_token(channel, "inbound", open_secret_store())
        connection.close_database()
        secret = server.client_secret
        result = desk.run(
            "channel", "secret", "support", "--client-secret", "--stdin", input=secret + "\n"
        )
        assert "The OAuth2 client secret of 'support' ([oauth2]) is stored" in result.stdout
        connection.open_database()
        access = tokens.access_token(channel, "inbound", open_secret_store())
        assert access in live_access_tokens(server)
        tokens.forget(channel)
        connection.close_database()
        assert secret not in desk.run("channel", "show", "support", "--json").stdout

        desk.run("channel", "remove", "support", "--yes")
        store = open_secret_store()
        for owner, kind in registry.SECRETS:
            assert store.get(registry.secret_key(row, owner, kind)) is None


def test_a_password_channel_cannot_be_signed_in(desk: Desk) -> None:
    desk.add_channel(DRAFT_CHANNEL)
    for args in (("auth", "support"), ("secret", "support", "--refresh-token", "--stdin")):
        result = desk.run("channel", *args, input="x\n", ok=False)
        assert result.exit_code == 1
        assert "has no [oauth2] table; add one" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    shown = desk.json("channel", "show", "support")
    assert "oauth2_sign_in" not in shown


def test_the_sign_in_url_as_a_qr_code_where_the_terminal_can_show_it() -> None:
    url = "http://127.0.0.1:10080/approve?user_code=BCDF-GHJK"
    size, _ = segno.make(url, error="l", micro=False).symbol_size(border=2)
    picture = qr_code(url, columns=80)
    assert picture is not None and set(picture) <= set("\u2580\u2584\u2588 \n")
    lines = picture.splitlines()
    assert len(lines) == (size + 1) // 2 and {len(line) for line in lines} == {size}
    assert qr_code(url, columns=size - 1) is None  # too narrow: the URL and code only


def test_on_a_terminal_the_sign_in_shows_a_qr_code_and_counts_down(
    desk: Desk, oauth_server: OAuthServer
) -> None:
    add(desk, oauth_server)
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli", "channel", "auth", "support"],
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100", "LINES": "40"},
    )
    os.close(child)
    seen = b""
    while b" left" not in seen:  # the countdown has started
        ready, _, _ = select.select([main], [], [], WAIT)
        assert ready, seen.decode(errors="replace")
        seen += os.read(main, 4096)
    text = seen.decode()
    code = re.search(r"enter the code:\r?\n\s+(\S+)\r?\n", text)
    assert code, text
    assert "\u2584" in text and "\u2580" in text  # the QR code's half blocks
    assert re.search(r"\rWaiting… \d+:\d\d left", text)
    oauth_server.approve(code.group(1))
    assert process.wait(timeout=WAIT) == 0
    with contextlib.suppress(OSError):  # the terminal is gone once the process is
        while chunk := os.read(main, 4096):
            seen += chunk
    os.close(main)
    assert "Signed in: the refresh token of 'support' is stored" in seen.decode()


def test_a_new_sign_in_ends_the_channels_cool_off(desk: Desk, oauth_server: OAuthServer) -> None:
    """A channel that failed to sign in (revoked consent) cools off; once someone signs it in
    again it is polled at the next pass, not after the cool-off."""
    row = add(desk, oauth_server)
    connection.open_database()
    Channel.update(
        status="active",
        fail_count=3,
        failing_since=db.utcnow(),
        cool_off_until=db.utcnow() + timedelta(minutes=10),
        last_error="The provider refused the sign-in; run `deskterm channel auth support`.",
    ).where(Channel.id == row.id).execute()
    assert channel_state(Channel.get_by_id(row.id))[0] == "cooling off"
    connection.close_database()

    pasted = oauth_server.issue()
    desk.run("channel", "secret", "support", "--refresh-token", "--stdin", input=pasted + "\n")
    connection.open_database()
    try:
        assert channel_state(Channel.get_by_id(row.id))[0] == "failing"  # due again, not cooling
    finally:
        connection.close_database()


def test_with_no_vault_and_nobody_to_ask_the_sign_in_stops_before_its_code(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new vault's passphrase is asked before the device code is requested: a code the
    person approved is spent, so a passphrase missing (or mistyped) afterwards lost the refresh
    token. With none to be had, the command ends before there is a code; given one, the
    approved sign-in is kept in the new vault. The server approves every code at its first
    poll, as the person would (so a command that asked for a code first fails at once too)."""
    with private_oauth_server(auto_approve=1) as server:
        row = add(desk, server)
        assert not paths.vault_file().exists()
        monkeypatch.delenv("DESKTERM_PASSPHRASE")
        monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
        result = desk.run("channel", "auth", "support", ok=False)
        assert (result.exit_code, result.stdout) == (1, "")  # no code was shown
        assert result.stderr == (
            "deskterm: The vault passphrase is needed but there is no terminal to ask for it; "
            "set DESKTERM_PASSPHRASE (or, for a service, the deskterm-passphrase credential).\n"
        )
        assert server.state()["device"] == {}  # and none was requested
        assert not paths.vault_file().exists()

        monkeypatch.setenv("DESKTERM_PASSPHRASE", "correct horse battery staple")
        signing = SignIn("support")
        assert paths.vault_file().exists()  # made before the code was shown
        code, out, err = signing.finish()
        assert (code, err) == (0, ""), out
        stored = stored_refresh_token(row)
        assert stored and stored in server.state()["refresh"]


def test_a_weak_new_vault_passphrase_is_refused_before_the_code(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_oauth_server(auto_approve=1) as server:
        add(desk, server)
        monkeypatch.setenv("DESKTERM_PASSPHRASE", "short")
        result = desk.run("channel", "auth", "support", ok=False)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.startswith("deskterm: A new vault passphrase needs at least 12")
        assert len(result.stderr.splitlines()) == 1
        assert server.state()["device"] == {}
        assert not paths.vault_file().exists()
