"""The token manager (channels/tokens.py) and the sign-in's storage (channels/authorize.py).

Against the suite's real OAuth2 server on 127.0.0.1 (tests/servers/oauth.py): its refresh
tokens rotate (the old one is refused at once), its access tokens can be expired at will, and
its state shows which tokens it holds valid. Secrets go to the test desk's real vault.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from deskterm.channels import authorize, registry, tokens
from deskterm.channels.config import parse_channel_text
from deskterm.errors import AuthError, ConfigError
from deskterm.net import oauth2
from deskterm.net.oauth2 import Endpoints, OAuthError
from deskterm.net.oauth2_providers import GOOGLE_SCOPE, MICROSOFT_SCOPE
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import Channel
from tests.conftest import Desk
from tests.servers.oauth import OAuthServer, private_oauth_server


def oauth_channel(server: OAuthServer, name: str = "support", *, extra: str = "") -> str:
    """A channel file whose sides both sign in with the test server's [oauth2] table."""
    return f"""
name = "{name}"
status = "draft"
[inbound]
host = "127.0.0.1"
username = "{server.user}"
auth = "oauth2"
{extra}
[outbound]
host = "127.0.0.1"
username = "{server.user}"
from = "Desk Support <{server.user}>"
auth = "oauth2"
[oauth2]
provider = "generic"
client_id = "{server.client_id}"
token_endpoint = "{server.token_url()}"
device_endpoint = "{server.device_url()}"
"""


def added(desk: Desk, toml: str) -> Channel:
    desk.add_channel(toml)
    connection.open_database()
    return Channel.get(Channel.name == parse_channel_text(toml)["name"])


@pytest.fixture
def store() -> Any:
    return open_secret_store()


@pytest.fixture
def channel(desk: Desk, oauth_server: OAuthServer, store: Any) -> Iterator[Channel]:
    """The channel, signed in with a fresh refresh token of the server's user."""
    row = added(desk, oauth_channel(oauth_server))
    settings = tokens.sign_in_settings(row)
    authorize.store_refresh_token(row, settings, store, oauth_server.issue())
    yield row
    tokens.forget(row)


def live_access_tokens(server: OAuthServer) -> set[str]:
    state = server.state()
    return {t for t, v in state["access"].items() if v["exp"] > state["now"]}


def refresh_token_of(channel: Channel, store: Any) -> str:
    return store.get(registry.secret_key(channel, "oauth2", "refresh_token"))


# --- the effective settings -------------------------------------------------------------------


def test_the_channel_table_serves_both_sides_with_its_presets(desk: Desk) -> None:
    text = """
name = "m365"
[inbound]
host = "outlook.office365.com"
username = "support@example.com"
auth = "oauth2"
[outbound]
host = "smtp.office365.com"
username = "support@example.com"
from = "support@example.com"
[oauth2]
provider = "microsoft"
tenant_id = "example.onmicrosoft.com"
client_id = "desk-app"
"""
    row = added(desk, text)
    settings = tokens.oauth2_of(row, "inbound")
    assert settings is not None
    assert (settings.owner, settings.provider, settings.client_id) == (
        "oauth2",
        "microsoft",
        "desk-app",
    )
    assert settings.scope == MICROSOFT_SCOPE  # the preset, as the table names none
    base = "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/"
    assert settings.endpoints == Endpoints(token=base + "token", device=base + "devicecode")
    assert tokens.oauth2_of(row, "outbound") is None  # its auth is the default password
    assert settings.command("m365") == "deskterm channel auth m365"


def test_a_side_table_overrides_the_channel_table_for_that_side(desk: Desk) -> None:
    text = """
name = "mixed"
[inbound]
host = "imap.gmail.com"
username = "support@example.com"
auth = "oauth2"
[outbound]
host = "smtp.example.com"
username = "relay@example.com"
from = "support@example.com"
auth = "oauth2"
[outbound.oauth2]
client_id = "relay-app"
token_url = "https://id.example.com/token"
scope = "smtp"
[oauth2]
provider = "google"
client_id = "desk-app"
"""
    row = added(desk, text)
    inbound, outbound = tokens.oauth2_of(row, "inbound"), tokens.oauth2_of(row, "outbound")
    assert inbound is not None and outbound is not None
    assert (inbound.owner, inbound.scope) == ("oauth2", GOOGLE_SCOPE)
    assert inbound.endpoints.token == "https://oauth2.googleapis.com/token"
    assert (outbound.owner, outbound.client_id, outbound.scope) == ("outbound", "relay-app", "smtp")
    assert outbound.endpoints == Endpoints(token="https://id.example.com/token", device=None)
    assert outbound.command("mixed") == "deskterm channel auth mixed --outbound"
    assert tokens.sign_in_settings(row).owner == "oauth2"
    assert tokens.sign_in_settings(row, "outbound").owner == "outbound"
    assert tokens.sign_in_settings(row, "inbound").owner == "oauth2"


def test_a_file_with_only_side_tables_keeps_working(desk: Desk) -> None:
    text = """
name = "legacy"
[inbound]
host = "imap.example.com"
username = "support@example.com"
auth = "oauth2"
[inbound.oauth2]
client_id = "desk"
token_url = "https://login.example.com/token"
device_url = "https://login.example.com/devicecode"
"""
    row = added(desk, text)
    settings = tokens.oauth2_of(row, "inbound")
    assert settings is not None and settings.owner == "inbound"
    assert settings.endpoints.device == "https://login.example.com/devicecode"
    assert tokens.sign_in_settings(row) == settings  # the one table there is


def test_a_password_side_has_no_token(desk: Desk, store: Any) -> None:
    from tests.conftest import DRAFT_CHANNEL

    row = added(desk, DRAFT_CHANNEL)
    assert tokens.oauth2_of(row, "inbound") is None
    with pytest.raises(ConfigError, match="signs in with a password, not OAuth2"):
        tokens.access_token(row, "inbound", store)
    with pytest.raises(ConfigError, match=r"has no \[oauth2\] table"):
        tokens.sign_in_settings(row)


# --- access tokens ----------------------------------------------------------------------------


def test_an_access_token_is_refreshed_once_and_kept_in_memory(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    first = tokens.obtain(channel, "inbound", store)
    assert first.refreshed and first.token.access_token in live_access_tokens(oauth_server)
    rotated = refresh_token_of(channel, store)
    again = tokens.obtain(channel, "outbound", store)  # both sides share the [oauth2] table
    assert not again.refreshed and again.token.access_token == first.token.access_token
    assert refresh_token_of(channel, store) == rotated  # no second refresh was spent
    assert tokens.access_token(channel, "inbound", store) == first.token.access_token


def test_a_token_near_its_expiry_is_refreshed_before_it_is_used(desk: Desk, store: Any) -> None:
    """Access tokens of this server live 45 s, inside the 60 s margin: every use refreshes."""
    with private_oauth_server(ttl=45) as server:
        row = added(desk, oauth_channel(server))
        authorize.store_refresh_token(row, tokens.sign_in_settings(row), store, server.issue())
        first = tokens.obtain(row, "inbound", store)
        assert first.token.expires_at - time.time() <= tokens.MARGIN
        second = tokens.obtain(row, "inbound", store)
        assert second.refreshed and second.token.access_token != first.token.access_token
        assert second.token.access_token in live_access_tokens(server)
        tokens.forget(row)


def test_a_token_the_server_expired_is_refreshed_when_forced(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    first = tokens.access_token(channel, "inbound", store)
    oauth_server.expire_access()
    assert first not in live_access_tokens(oauth_server)
    assert tokens.access_token(channel, "inbound", store) == first  # our clock: still good
    forced = tokens.obtain(channel, "inbound", store, force_refresh=True)
    assert forced.refreshed and forced.token.access_token != first
    assert forced.token.access_token in live_access_tokens(oauth_server)


def test_a_token_refused_to_several_logins_is_refreshed_once(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    """The IMAP poll, the IDLE watcher and SMTP of one table all meet a refused token: the
    first refreshes it, the others sign in with what that refresh obtained."""
    first = tokens.access_token(channel, "inbound", store)
    oauth_server.expire_access()
    again = tokens.obtain(channel, "inbound", store, refused=first)
    assert again.refreshed and again.token.access_token in live_access_tokens(oauth_server)
    rotated = refresh_token_of(channel, store)
    other = tokens.obtain(channel, "outbound", store, refused=first)
    assert not other.refreshed and other.token.access_token == again.token.access_token
    assert refresh_token_of(channel, store) == rotated  # no second refresh was spent


def test_the_forms_test_keeps_a_refresh_token_rotated_while_it_refreshed(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    """The form's Test signs in through TypedPasswords: a provider that rotates has spent the
    stored refresh token by then, so the new one must reach the real store."""
    issued = refresh_token_of(channel, store)
    trial = registry.trial(dict(channel.settings), channel.name)
    typed = registry.TypedPasswords(trial, {}, store)
    obtained = tokens.obtain(trial, "inbound", typed, force_refresh=True)
    assert obtained.token.access_token in live_access_tokens(oauth_server)
    rotated = refresh_token_of(channel, store)
    assert rotated and rotated != issued
    tokens.forget(channel)
    assert tokens.access_token(channel, "inbound", store) in live_access_tokens(oauth_server)


def test_a_rotated_refresh_token_is_saved_before_the_access_token_is_used(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    issued = refresh_token_of(channel, store)
    tokens.access_token(channel, "inbound", store)
    rotated = refresh_token_of(channel, store)
    assert rotated and rotated != issued
    settings = tokens.sign_in_settings(channel)
    with pytest.raises(OAuthError) as refused:  # the server spent the old one
        oauth2.refresh(settings.endpoints, settings.client_id, issued, settings.scope)
    assert refused.value.code == "invalid_grant"
    # A new process (nothing in memory) signs in with what the store kept, again and again.
    for _ in range(3):
        tokens.forget(channel)
        token = tokens.access_token(channel, "outbound", store)
        assert token in live_access_tokens(oauth_server)
    assert refresh_token_of(channel, store) not in (issued, rotated)


def test_refreshes_of_one_table_take_turns(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    """Two logins forcing a refresh at once must not spend the same refresh token twice."""
    found: list[str] = []
    failed: list[BaseException] = []

    def login(side: str) -> None:
        try:
            found.append(tokens.access_token(channel, side, store, force_refresh=True))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=login, args=(s,)) for s in ("inbound", "outbound") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed and len(found) == 6
    assert found[-1] in live_access_tokens(oauth_server)


class ReadBeforeTheOtherProcessWrote:
    """The store as a refresh sees it when another process rotates the refresh token between
    our read and our request: the first read returns the token that process just spent."""

    def __init__(self, store: Any, key: str, spent: str) -> None:
        self.store, self.key, self.spent = store, key, spent

    def get(self, key: str) -> str | None:
        if key == self.key and self.spent is not None:
            spent, self.spent = self.spent, None
            return spent
        return self.store.get(key)

    def set(self, key: str, value: str) -> None:
        self.store.set(key, value)


def test_a_refresh_token_rotated_meanwhile_by_another_process_is_used(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    spent = refresh_token_of(channel, store)
    settings = tokens.sign_in_settings(channel)
    other = oauth2.refresh(settings.endpoints, settings.client_id, spent, settings.scope)
    assert other.refresh_token
    store.set(registry.secret_key(channel, "oauth2", "refresh_token"), other.refresh_token)
    key = registry.secret_key(channel, "oauth2", "refresh_token")
    racing = ReadBeforeTheOtherProcessWrote(store, key, spent)
    token = tokens.access_token(channel, "inbound", racing)
    assert token in live_access_tokens(oauth_server)
    assert refresh_token_of(channel, store) not in (spent, other.refresh_token)  # rotated again


def test_a_revoked_sign_in_names_the_command_to_run(
    channel: Channel, store: Any, oauth_server: OAuthServer
) -> None:
    tokens.access_token(channel, "inbound", store)
    stored = refresh_token_of(channel, store)
    oauth_server.revoke(token=stored)
    tokens.forget(channel)
    with pytest.raises(AuthError) as caught:
        tokens.access_token(channel, "inbound", store)
    message = str(caught.value)
    assert message.endswith("; run `deskterm channel auth support`.")
    assert "invalid_grant" in message and stored not in message
    assert refresh_token_of(channel, store) == stored  # kept: the sign-in fixes it, not us


def test_no_sign_in_yet_names_the_command_to_run(
    desk: Desk, store: Any, oauth_server: OAuthServer
) -> None:
    row = added(desk, oauth_channel(oauth_server, "fresh"))
    with pytest.raises(AuthError) as caught:
        tokens.access_token(row, "inbound", store)
    assert str(caught.value).endswith("no OAuth2 sign-in yet; run `deskterm channel auth fresh`.")


def test_the_database_knows_when_never_what(
    channel: Channel, store: Any, oauth_server: OAuthServer, desk: Desk
) -> None:
    issued = refresh_token_of(channel, store)
    access = tokens.access_token(channel, "inbound", store)
    rotated = refresh_token_of(channel, store)
    [status] = tokens.status(Channel.get_by_id(channel.id)).items()
    owner, facts = status
    assert owner == "oauth2" and facts["used_by"] == ["inbound", "outbound"]
    assert facts["refresh_token"] == "stored" and facts["refreshed_at"]
    connection.close_database()
    for path in desk.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for token in (issued, access, rotated):
                assert token.encode() not in data, path


def test_removing_the_channel_removes_its_oauth2_secrets(
    channel: Channel, store: Any, desk: Desk
) -> None:
    settings = tokens.sign_in_settings(channel)
    store.set(tokens.secret_of(channel, settings, tokens.CLIENT_SECRET), "app-secret")
    keys = [registry.secret_key(channel, "oauth2", k) for k in ("refresh_token", "client_secret")]
    assert all(store.get(k) for k in keys)
    registry.remove("support", store=store)
    assert [store.get(k) for k in keys] == [None, None]


# Each writer process stores its own secrets, as the worker saves a rotated refresh token
# while `channel auth` (another process) stores a new one.
WRITER = """
import sys
from deskterm.secrets.store import open_secret_store

store = open_secret_store()
for i in range(int(sys.argv[2])):
    store.set(f"race/{sys.argv[1]}/{i}", f"value-{i}")
"""


def test_two_processes_writing_the_vault_at_once_lose_nothing(store: Any) -> None:
    """The vault's writers take turns, so neither overwrites what the other wrote meanwhile
    with its older copy of the file (a lost rotated refresh token is a lost sign-in)."""
    store.set("race/first", "the vault exists, so no writer creates it")
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, name, "30"]) for name in ("a", "b", "c")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    missing = [
        f"{name}/{i}"
        for name in ("a", "b", "c")
        for i in range(30)
        if store.get(f"race/{name}/{i}") != f"value-{i}"
    ]
    assert missing == []
