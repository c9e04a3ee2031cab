"""`deskterm channel trust` and `deskterm secrets status` in the terminal UI.

P on the channel list reads the certificate each server presents now (against the suite's
real Dovecot and Postfix, whose certificate is self-signed), shows it beside the pinned one,
and pins it only after `y`. The first line of the channel list says which secret store is in
use and whether the vault is unlocked, as `deskterm secrets status` would.
"""

from __future__ import annotations

import asyncio
import copy
import ssl
import threading

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Static

from deskterm.app import DeskApp
from deskterm.channels import check as conntest
from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.demo import desk as demo
from deskterm.net import tls
from deskterm.screens import trust as trust_screen
from deskterm.screens.channel_form import ChannelFormScreen
from deskterm.screens.channels import ChannelsScreen
from deskterm.screens.trust import TrustScreen, fingerprint_lines
from deskterm.screens.unlock import UnlockScreen
from deskterm.secrets.passphrase import PASSPHRASE_ENV
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.widgets.step_list import StepList
from tests.conftest import Desk, channel_toml
from tests.tui.test_app import drive, make_app, notices, screen_text, settle, until
from tests.tui.test_app_channels import silent_server

SUPPORT = "support@desk.test"
STALE = ":".join(["AB"] * 32)


def server_fingerprint(mail_servers) -> str:
    return tls.fingerprint(ssl.PEM_cert_to_DER_cert(mail_servers.cert_file.read_text()))


def dialog_text(app: DeskApp) -> str:
    """What the trust dialog says, unwrapped (the screen wraps its long sentences)."""
    assert isinstance(app.screen, TrustScreen)
    return "\n".join(str(widget.content) for widget in app.screen.query(Static))


def pins() -> tuple[str | None, str | None]:
    channel = channels.get("support")
    return channel.inbound_pin, channel.outbound_pin


async def open_channels(pilot: Pilot[None]) -> ChannelsScreen:
    await pilot.press("C")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChannelsScreen)
    return pilot.app.screen


async def open_trust(pilot: Pilot[None]) -> TrustScreen:
    """P on the channel list, and wait until both servers have answered."""
    await pilot.press("P")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, TrustScreen)
    await until(pilot, lambda: screen.sides is not None, timeout=30)
    await pilot.pause()
    return screen


async def run_test(pilot: Pilot[None]) -> StepList:
    """`t` on the channel list: the form opens and runs the connection test."""
    await pilot.press("t")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChannelFormScreen)
    steps = pilot.app.screen.query_one(StepList)
    await until(pilot, lambda: steps.verdict, timeout=30)
    return steps


def edit_demo(**inbound: object) -> None:
    """Point the demo channel's inbound at a loopback server (and drop its outbound)."""
    connection.open_database()
    config = copy.deepcopy(demo.CHANNEL_CONFIG)
    config["inbound"].update(inbound)
    config.pop("outbound")
    channels.edit(demo.CHANNEL, channel_config.validate(config))


# --- pinning a changed certificate ------------------------------------------------------------


@pytest.mark.mailserver
def test_a_changed_certificate_is_refused_then_trusted_from_the_ui_then_passes(
    desk: Desk, mail_servers
) -> None:
    password = mail_servers.users[SUPPORT]
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    connection.open_database()
    for side in channels.SIDES:  # as if both servers had replaced their certificate
        channels.trust(channels.get("support"), side, STALE)
    real = server_fingerprint(mail_servers)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        # Test refuses the unknown certificate before any password is sent.
        steps = await run_test(pilot)
        assert steps.verdict == "The test failed."
        failed = [r for r in steps.results if not r.ok]
        assert [r.name for r in failed] == ["IMAP TLS handshake", "SMTP STARTTLS"]
        assert f"pinned {STALE}, now {real}" in failed[0].detail
        assert not any(r.name in ("IMAP login", "SMTP AUTH") for r in steps.results)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)

        # P shows both fingerprints; Esc pins nothing.
        trust = await open_trust(pilot)
        assert [(s.side, s.pinned, s.seen) for s in trust.sides or []] == [
            ("inbound", STALE, real),
            ("outbound", STALE, real),
        ]
        text = screen_text(app)
        for line in fingerprint_lines(real):
            assert text.count(line) == 2, line  # inbound and outbound
        assert text.count(fingerprint_lines(STALE)[0]) == 4  # its two halves are the same
        assert "changed: the server presents another certificate" in text
        assert "Trust the new inbound and outbound certificates?" in dialog_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        assert pins() == (STALE, STALE)

        # Enter lands on Cancel, the focused default: still nothing pinned.
        trust = await open_trust(pilot)
        assert app.focused is trust.query_one("#cancel", Button)
        await pilot.press("enter")
        await settle(pilot)
        assert pins() == (STALE, STALE)

        # y is the explicit yes.
        await open_trust(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        assert pins() == (real, real)
        assert "The inbound and outbound certificates are pinned for 'support'." in notices(app)

        # The pin is the one Test now checks: every step passes.
        steps = await run_test(pilot)
        assert steps.verdict == "All steps passed.", steps.text
        assert "matches the pin" in steps.text
        await pilot.press("escape")
        await settle(pilot)

        # Nothing changed since: P says so, and y pins nothing.
        trust = await open_trust(pilot)
        assert "the server presents the pinned certificate" in screen_text(app)
        assert "Nothing to pin." in screen_text(app)
        assert trust.query_one("#pin", Button).disabled
        await pilot.press("y")
        assert "There is no new certificate to pin." in notices(app)

    drive(scenario, size=(120, 40))
    assert pins() == (real, real)
    # The CLI agrees.
    result = desk.run("channel", "trust", "support", "--yes")
    assert result.stdout.count("already trusted.") == 2


@pytest.mark.mailserver
def test_a_first_pin_is_taken_only_after_yes(desk: Desk, mail_servers) -> None:
    password = mail_servers.users[SUPPORT]
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    connection.open_database()
    real = server_fingerprint(mail_servers)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        await open_trust(pilot)
        text = screen_text(app)
        assert text.count("(nothing pinned yet)") == 2 and "not pinned yet" in text
        assert pins() == (None, None)  # reading the certificate pinned nothing
        await pilot.press("y")
        await settle(pilot)
        assert pins() == (real, real)

    drive(scenario, size=(120, 40))


@pytest.mark.mailserver
def test_the_cli_says_a_cleartext_side_has_no_certificate(desk: Desk, mail_servers) -> None:
    password = mail_servers.users[SUPPORT]
    toml = channel_toml(mail_servers, security="none")
    desk.add_channel(toml, inbound=password, outbound=password)
    result = desk.run("channel", "trust", "support", "--inbound", "--yes", ok=False)
    assert result.exit_code == 1
    assert "uses no TLS (security = none), so it has no certificate to trust." in result.output
    connection.open_database()
    assert conntest.presented(channels.get("support"), "outbound").seen == server_fingerprint(
        mail_servers
    )


def test_an_unreachable_server_is_one_sentence_and_nothing_is_pinned(demo_desk: None) -> None:
    edit_demo(host="127.0.0.1", port=1, security="ssl", allow_self_signed=True, timeout=3)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        trust = await open_trust(pilot)
        [side] = trust.sides or []
        assert side.seen is None and "was refused" in side.error
        assert "✗ The connection to IMAP server 127.0.0.1:1 was refused" in screen_text(app)
        assert "Nothing to pin." in dialog_text(app)
        await pilot.press("y")
        assert "There is no new certificate to pin." in notices(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)

    drive(scenario, size=(120, 40))
    assert channels.get(demo.CHANNEL).inbound_pin is None


def test_a_ca_verified_side_has_nothing_to_pin(demo_desk: None) -> None:
    edit_demo(host="127.0.0.1", port=1, security="ssl", allow_self_signed=False)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        await open_trust(pilot)
        text = dialog_text(app)
        assert (
            "The inbound certificate of 'demo' is verified against certificate authorities "
            "(allow_self_signed is off), so no pin is used." in text
        )
        assert "Nothing to pin." in text
        assert "Asking the servers" not in text

    drive(scenario, size=(120, 40))


def test_a_hung_server_never_blocks_the_keys(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_ended = threading.Event()
    read = trust_screen.read_certificates

    def read_and_tell(name: str) -> list:
        try:
            return read(name)
        finally:
            read_ended.set()

    monkeypatch.setattr(trust_screen, "read_certificates", read_and_tell)
    with silent_server() as port:
        edit_demo(host="127.0.0.1", port=port, security="ssl", allow_self_signed=True, timeout=5)

        async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
            await open_channels(pilot)
            await pilot.press("P")
            await pilot.pause()
            trust = app.screen
            assert isinstance(trust, TrustScreen)
            assert "Asking the servers for their certificates" in screen_text(app)
            await pilot.press("y")  # not read yet: nothing to confirm
            assert "The certificates are still being read." in notices(app)
            await pilot.press("escape")  # the handshake still hangs; the dialog closes now
            await pilot.pause()
            assert isinstance(app.screen, ChannelsScreen)
            assert not read_ended.is_set()  # closed while the handshake hangs, not after it
            await pilot.press("j", "k")
            await settle(pilot, timeout=20)
            await until(pilot, read_ended.is_set, timeout=30)  # it times out by itself

        drive(scenario)
    assert channels.get(demo.CHANNEL).inbound_pin is None


# --- which secret store -------------------------------------------------------------------------


def secrets_line(app: DeskApp) -> str:
    screen = app.screen
    assert isinstance(screen, ChannelsScreen)
    return screen.secrets_line


def test_the_channel_list_says_the_vault_is_not_made_yet(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        line = secrets_line(app)
        assert line.startswith("Secrets: the vault, not made yet")
        assert "DESKTERM_SECRET_BACKEND=vault chose the AES-256-GCM vault at" in line
        assert "Secrets: the vault, not made yet" in screen_text(app)

    drive(scenario)


def test_the_channel_list_says_the_vault_is_unlocked(demo_desk: None) -> None:
    open_secret_store().set("some/key", "value")  # DESKTERM_PASSPHRASE: made and unlocked

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        assert secrets_line(app).startswith("Secrets: the vault, unlocked.")
        assert "Secrets: the vault, unlocked." in screen_text(app)

    drive(scenario)


def test_a_locked_vault_is_said_and_unlocking_it_updates_the_line(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV)
    right = "right-horse-42"
    open_secret_store(passphrase_provider=lambda creating: right).set("some/key", "value")
    app = make_app()

    async def main() -> None:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
            await pilot.press("escape")  # go on without the vault
            await settle(pilot)
            await open_channels(pilot)
            assert secrets_line(app).startswith(
                "Secrets: the vault, locked (ctrl+p, then Unlock the vault)."
            )
            app.unlock_vault()
            await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
            await pilot.press(*right, "enter")
            await settle(pilot)
            assert isinstance(app.screen, ChannelsScreen)
            await until(
                pilot, lambda: secrets_line(app).startswith("Secrets: the vault, unlocked.")
            )

    asyncio.run(main())


def test_a_wrong_passphrase_in_the_environment_is_said(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_secret_store().set("some/key", "value")
    monkeypatch.setenv(PASSPHRASE_ENV, "not-the-one")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        line = secrets_line(app)
        assert line.startswith(
            "Secrets: the vault, which cannot be opened: The vault passphrase is wrong"
        ), line

    drive(scenario)


def test_an_unusable_backend_is_one_sentence(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_SECRET_BACKEND", "plaintext")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_channels(pilot)
        assert secrets_line(app) == (
            "Secrets: no secret store can be used. DESKTERM_SECRET_BACKEND is 'plaintext', "
            "which is not a secret backend; set it to keyring or vault, or unset it to choose "
            "automatically."
        )

    drive(scenario)
