"""`deskterm channel auth` in the terminal UI: O on the channel list signs a channel in.

Against the suite's OAuth2 server (the device grant, approved or declined through its
/approve page as a person would): the dialog shows the code and the URL, waits visibly, closes
once the code is approved with the refresh token stored, says why when it is declined, and
Esc cancels at once, storing nothing even if the code is approved afterwards.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from deskterm import paths
from deskterm.app import DeskApp
from deskterm.channels import authorize, tokens
from deskterm.channels import registry as channels
from deskterm.errors import ConfigError
from deskterm.net.oauth2 import DeviceCode
from deskterm.screens.channels import ChannelsScreen
from deskterm.screens.sign_in import SignInScreen
from deskterm.screens.unlock import UnlockScreen
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from tests.conftest import Desk
from tests.servers.oauth import OAuthServer, private_oauth_server
from tests.tui.test_app import drive, notices, screen_text, settle, until


def oauth_channel(oauth: OAuthServer) -> str:
    """A draft channel that signs in with the suite's OAuth2 server (never polled here)."""
    return f"""
name = "m365"
[inbound]
host = "127.0.0.1"
port = 993
username = "support@desk.test"
auth = "oauth2"
[oauth2]
provider = "generic"
client_id = "{oauth.client_id}"
token_endpoint = "{oauth.token_url()}"
device_endpoint = "{oauth.device_url()}"
"""


def stored_refresh_token() -> str | None:
    connection.open_database()
    try:
        channel = channels.get("m365")
        settings = tokens.sign_in_settings(channel)
        return open_secret_store().get(tokens.secret_of(channel, settings, tokens.REFRESH_TOKEN))
    finally:
        connection.close_database()


def dialog_text(app: DeskApp) -> str:
    """What the dialog says, unwrapped."""
    assert isinstance(app.screen, SignInScreen)
    return "\n".join(str(widget.content) for widget in app.screen.query(Static))


async def open_sign_in(pilot: Pilot[None]) -> tuple[SignInScreen, DeviceCode]:
    """C for the channel list, O on its only channel; wait until the code is shown."""
    await pilot.press("C")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChannelsScreen)
    await pilot.press("O")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SignInScreen), notices(pilot.app)
    await until(pilot, lambda: screen.device is not None, timeout=15)
    await pilot.pause()
    assert screen.device is not None
    return screen, screen.device


@pytest.fixture
def signs_in(desk: Desk, oauth_server: OAuthServer) -> Desk:
    """A desk with channel m365, which signs in with the suite's OAuth2 server."""
    desk.add_channel(oauth_channel(oauth_server))
    return desk


def test_the_dialog_shows_the_code_and_completes_when_approved(
    signs_in: Desk, oauth_server: OAuthServer
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        _dialog, device = await open_sign_in(pilot)
        text = dialog_text(app)
        assert device.user_code in screen_text(app)
        assert device.verification_uri in text
        assert "Waiting for the sign-in; the code expires in" in text
        assert "Esc cancels." in text
        oauth_server.approve(device.user_code)
        signed_in = "Channel 'm365' is signed in; it logs in with OAuth2 from now on."
        await until(pilot, lambda: signed_in in notices(app), timeout=15)
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)

    drive(scenario, size=(100, 30))
    stored = stored_refresh_token()
    assert stored and stored in oauth_server.state()["refresh"]
    [sign_in] = signs_in.json("channel", "show", "m365")["oauth2_sign_in"].values()
    assert sign_in["refresh_token"] == "stored"


def test_a_declined_sign_in_says_so_and_stores_nothing(
    signs_in: Desk, oauth_server: OAuthServer
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        dialog, device = await open_sign_in(pilot)
        oauth_server.deny(device.user_code)
        await until(pilot, lambda: bool(dialog.error), timeout=15)
        await pilot.pause()
        text = dialog_text(app)
        assert "The sign-in was declined" in text and "press O to try again" in text
        assert "Esc closes." in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)

    drive(scenario, size=(100, 30))
    assert stored_refresh_token() is None


def test_esc_cancels_while_waiting(signs_in: Desk, oauth_server: OAuthServer) -> None:
    codes: list[str] = []

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        _dialog, device = await open_sign_in(pilot)
        code = device.user_code
        codes.append(code)
        [poller] = [worker for worker in app.workers if worker.group == "sign-in"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        # The waiting thread ends at once (no waiting out the 1 s poll interval), and no other
        # sign-in started: nothing can poll for the code once it is approved.
        await until(pilot, lambda: poller.is_finished, timeout=5)
        assert not any(worker.group == "sign-in" for worker in app.workers)
        oauth_server.approve(code)  # too late: nobody polls for it
        await settle(pilot)
        assert not any("signed in" in notice for notice in notices(app))

    drive(scenario, size=(100, 30))
    assert stored_refresh_token() is None
    [device] = [d for d in oauth_server.state()["device"].values() if d["user_code"] in codes]
    assert device["status"] == "approved"  # approved, and never redeemed


def test_a_channel_without_oauth2_is_told_so(desk: Desk) -> None:
    from tests.conftest import DRAFT_CHANNEL

    desk.add_channel(DRAFT_CHANNEL)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        assert any("has no [oauth2] table" in notice for notice in notices(app))

    drive(scenario, size=(100, 30))


def test_an_engine_sentence_naming_a_command_is_shown_in_the_tuis_keys(
    signs_in: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine words its refusals for the CLI (`deskterm channel secret ...`); the dialog
    shows the TUI's way to do the same instead."""

    def refused(channel, store, side=None):
        raise ConfigError(
            f"Channel {channel.name!r} has no device sign-in endpoint; set device_url, or store "
            f"a refresh token with `deskterm channel secret {channel.name} --refresh-token`."
        )

    monkeypatch.setattr(authorize, "start", refused)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("O")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SignInScreen), notices(app)
        await until(pilot, lambda: bool(dialog.error), timeout=15)
        text = dialog_text(app)
        assert "has no device sign-in endpoint" in text
        assert "the password box of the channel's form (e on the channel screen)" in text
        assert "deskterm" not in text

    drive(scenario, size=(100, 30))


def test_an_expired_code_says_so_and_stores_nothing(desk: Desk) -> None:
    with private_oauth_server(device_ttl=2) as server:
        desk.add_channel(oauth_channel(server))

        async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
            dialog, _device = await open_sign_in(pilot)
            await until(pilot, lambda: bool(dialog.error), timeout=15)
            await pilot.pause()
            text = dialog_text(app)
            assert "The code expired before anyone signed in" in text
            assert "press O to try again" in text and "deskterm" not in text
            assert "Esc closes." in text
            assert "Waiting for the sign-in" not in text  # the countdown stopped

        drive(scenario, size=(100, 30))
        [device] = server.state()["device"].values()
        assert device["status"] == "pending"  # nobody approved it: it expired
    assert stored_refresh_token() is None


def test_a_new_vault_is_made_before_the_code_is_asked_for(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no vault yet, O asks for the new vault's passphrase first: Esc there ends the
    sign-in before any code exists; typed, the code follows and the approved sign-in is
    stored. The server approves each code at its first poll, as the person would."""
    passphrase = "correct horse battery staple"
    monkeypatch.delenv("DESKTERM_PASSPHRASE")
    with private_oauth_server(auto_approve=1) as server:
        desk.add_channel(oauth_channel(server))

        async def new_vault_asked(pilot: Pilot[None]) -> UnlockScreen:
            await pilot.press("O")
            await until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen), timeout=15)
            await pilot.pause()
            assert isinstance(pilot.app.screen, UnlockScreen) and pilot.app.screen.creating
            assert server.state()["device"] == {}  # no code before the vault is ready
            return pilot.app.screen

        async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
            await pilot.press("C")
            await settle(pilot)
            await new_vault_asked(pilot)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, SignInScreen) and app.screen.error)
            assert "No vault was created, so nothing was stored." in dialog_text(app)
            assert server.state()["device"] == {}
            assert not paths.vault_file().exists()
            await pilot.press("escape")
            await settle(pilot)

            await new_vault_asked(pilot)
            await pilot.press(*passphrase, "enter", *passphrase, "enter")
            signed_in = "Channel 'm365' is signed in; it logs in with OAuth2 from now on."
            await until(pilot, lambda: signed_in in notices(app), timeout=15)

        drive(scenario, size=(100, 30))
        monkeypatch.setenv("DESKTERM_PASSPHRASE", passphrase)
        stored = stored_refresh_token()
        assert stored and stored in server.state()["refresh"]
