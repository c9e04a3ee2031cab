"""The vault's passphrase in the terminal UI: asked in a dialog, never by getpass.

These tests unset DESKTERM_PASSPHRASE (the suite sets one for every test) so that the app
has to ask. The store the dialog unlocks is the one the app's worker uses: with the real
servers, a channel polls once the vault is open, and reports in one sentence that it has no
password when the agent chose to go on without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.channels import registry as channels
from deskterm.errors import SecretError
from deskterm.screens.channel_form import ChannelFormScreen
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.unlock import LOCKED, UnlockScreen
from deskterm.secrets.passphrase import CREDENTIALS_ENV, PASSPHRASE_CREDENTIAL, PASSPHRASE_ENV
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import JobRun
from tests.conftest import Desk, channel_toml
from tests.tui.test_app import make_app, notices, screen_text, settle, until
from tests.tui.test_app_channels import type_into

RIGHT = "right-horse-42"
SUPPORT = "support@desk.test"
KEY = "channel/some-uid/inbound/password"


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch) -> None:
    """A vault holding one secret, and no passphrase in the environment."""
    monkeypatch.delenv(PASSPHRASE_ENV)
    open_secret_store(passphrase_provider=lambda creating: RIGHT).set(KEY, "s3cret")


def run(app: DeskApp, scenario: Callable[[DeskApp, Pilot[None]], Awaitable[None]]) -> None:
    """Like tests.tui.test_app.drive, without waiting for the app's workers first: the one that
    opens the secret store waits for the dialog."""

    async def main() -> None:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def dialog(pilot: Pilot[None]) -> UnlockScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen))
    await pilot.pause()
    return pilot.app.screen  # type: ignore[return-value]


async def secret_of(app: DeskApp, key: str = KEY) -> str | None:
    """Read through the app's store off the UI thread, as its users (worker, form) do."""
    return await asyncio.to_thread(app.secrets.get, key)


def test_the_right_passphrase_unlocks_the_vault(vault: None, demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await dialog(pilot)
        assert not screen.creating
        assert "Unlock the vault" in screen_text(app)
        await pilot.press(*RIGHT)
        assert RIGHT not in screen_text(app)  # a password field
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert await secret_of(app) == "s3cret"
        assert not notices(app)

    run(make_app(), scenario)


def test_a_systemd_credential_opens_the_vault_without_asking(
    vault: None, demo_desk: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app takes the passphrase where the worker does (secrets/passphrase.py): the
    environment or the service's credential, so it never asks over one it was given."""
    (tmp_path / PASSPHRASE_CREDENTIAL).write_text(RIGHT + "\n")
    monkeypatch.setenv(CREDENTIALS_ENV, str(tmp_path))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await settle(pilot)  # the app opens its secret store as it starts
        assert isinstance(app.screen, ConversationsScreen), "it asked for the passphrase"
        assert await secret_of(app) == "s3cret"
        assert not notices(app)

    run(make_app(), scenario)


def test_a_wrong_passphrase_is_said_and_asked_again(vault: None, demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        first = await dialog(pilot)
        await pilot.press(*"wrong-horse", "enter")
        await until(pilot, lambda: notices(app))
        assert notices(app)[0].startswith(
            "The vault passphrase is wrong; the vault was left unchanged: try again"
        )
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen) and app.screen is not first)
        await pilot.press(*RIGHT, "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert await secret_of(app) == "s3cret"
        assert len(notices(app)) == 1

    run(make_app(), scenario)


def test_escape_goes_on_without_secrets_until_unlocked(vault: None, demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await dialog(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert LOCKED in notices(app)
        with pytest.raises(SecretError, match="The vault stayed locked"):
            await secret_of(app)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Unlock the vault" in commands
        app.unlock_vault()
        await dialog(pilot)
        await pilot.press(*RIGHT, "enter")
        await settle(pilot)
        assert "The vault is unlocked." in notices(app)
        assert await secret_of(app) == "s3cret"

    run(make_app(), scenario)


def test_a_new_vault_asks_for_its_passphrase_twice(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch, desk_home
) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV)
    assert not (desk_home / "vault.bin").exists()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await settle(pilot)  # no vault yet: nothing to unlock, no question
        assert isinstance(app.screen, ConversationsScreen)
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChannelFormScreen)
        await type_into(pilot, "pw-inbound", "mailbox-secret")
        await pilot.press("ctrl+s")
        screen = await dialog(pilot)
        assert screen.creating
        await pilot.press(*"short", "enter")  # refused at once, with the rule
        await pilot.pause()
        assert "needs at least 12 characters" in screen_text(app)
        await pilot.press(*"new-pass-phrase", "enter", *"new-typo", "enter")
        await pilot.pause()
        assert "The two passphrases differ; type them again." in screen_text(app)
        await pilot.press(*"new-pass-phrase", "enter", *"new-pass-phrase", "enter")
        await settle(pilot)
        assert "Channel 'demo' saved." in notices(app)

    run(make_app(), scenario)
    assert (desk_home / "vault.bin").exists()
    store = open_secret_store(passphrase_provider=lambda creating: "new-pass-phrase")
    assert store.get(channels.secret_key(channels.get("demo"), "inbound")) == "mailbox-secret"


# --- the worker uses the unlocked store ----------------------------------------------------------


@pytest.fixture
def support_channel(desk: Desk, mail_servers, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's mailbox as a channel, its password in a vault locked by RIGHT."""
    monkeypatch.setenv(PASSPHRASE_ENV, RIGHT)
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")
    toml = channel_toml(mail_servers, inbound_extra="idle = false")
    desk.add_channel(toml, inbound=mail_servers.users[SUPPORT])
    monkeypatch.delenv(PASSPHRASE_ENV)
    connection.open_database()


@pytest.mark.mailserver
def test_the_worker_logs_in_with_the_unlocked_vault(support_channel: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await dialog(pilot)
        await pilot.press(*RIGHT, "enter")
        await until(pilot, lambda: JobRun.select().count() == 1, timeout=30)
        await until(pilot, lambda: JobRun.get().finished_at is not None, timeout=30)
        assert JobRun.get().error is None
        assert app.engine is not None and app.engine.store is app.secrets

    run(DeskApp(run_worker=True), scenario)


@pytest.mark.mailserver
def test_without_the_passphrase_the_worker_says_it_has_no_password(
    support_channel: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await dialog(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: JobRun.select().count() == 1, timeout=30)
        await until(pilot, lambda: JobRun.get().finished_at is not None, timeout=30)
        assert JobRun.get().error == LOCKED
        await until(pilot, lambda: f"support: {LOCKED}" in notices(app))
        # Unlocked from the command palette, the next poll logs in.
        app.unlock_vault()
        await dialog(pilot)
        await pilot.press(*RIGHT, "enter")
        await until(pilot, lambda: "The vault is unlocked." in notices(app))
        assert app.engine is not None
        app.engine.poll_now()
        await until(pilot, lambda: JobRun.select().count() == 2, timeout=30)
        await until(
            pilot,
            lambda: JobRun.select().order_by(JobRun.id.desc()).get().finished_at is not None,
            timeout=30,
        )
        assert JobRun.select().order_by(JobRun.id.desc()).get().error is None

    run(DeskApp(run_worker=True), scenario)
