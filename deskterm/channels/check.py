"""The channel connection test: every step from DNS to login (and a test mail), timed.

`deskterm channel test` and the UI's Test button both run this, so an admin sees the same
steps, times and one-sentence failures wherever they test a channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from deskterm.channels import advice, signin, tokens
from deskterm.channels import registry as channels
from deskterm.channels.typed import ChannelConfig, OutboundConfig
from deskterm.errors import DeskError
from deskterm.net import imap as imap_conn
from deskterm.net import pop3 as pop3_conn
from deskterm.net import smtp as smtp_conn
from deskterm.net.login import Credentials
from deskterm.net.steps import StepResult, Steps
from deskterm.net.tls import Endpoint, server_words
from deskterm.store.models import Channel


def run(
    channel: Channel,
    store: Any,
    send_to: str | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Test the inbound server, then the outbound one; a failed step ends that side's test."""
    steps = Steps(on_step=on_step)
    sign_in = _SignIn(channel, store, steps)
    with contextlib.suppress(DeskError):
        _inbound(sign_in)
    if ChannelConfig.of(channel).outbound is not None:
        with contextlib.suppress(DeskError):
            asyncio.run(_outbound(sign_in, send_to))
    elif send_to:
        steps.record(
            StepResult(
                "send test email",
                False,
                0.0,
                f"Channel {channel.name!r} has no [outbound] settings.",
            )
        )
    return steps.results


def _inbound(sign_in: _SignIn) -> None:
    channel, steps = sign_in.channel, sign_in.steps
    settings = channels.side_config(channel, "inbound")
    endpoint = channels.endpoint(channel, "inbound")
    _warn_cleartext(steps, endpoint)
    if settings.protocol == "pop3":
        client = pop3_conn.connect(endpoint, steps)
        try:
            pop3_conn.login(client, endpoint, sign_in.credentials(endpoint), steps)
        finally:
            with contextlib.suppress(Exception):
                client.quit()
        return
    mailbox = imap_conn.connect(endpoint, steps)
    try:
        imap_conn.login(mailbox, endpoint, sign_in.credentials(endpoint), steps)
        with steps.step("folders", endpoint) as found:
            existing = {f.name for f in mailbox.folder.list()}
            wanted = list(settings.folders)
            wanted += [f for f in (settings.move_on_success, settings.move_on_failure) if f]
            missing = [f for f in wanted if f not in existing]
            if missing:
                raise DeskError(
                    f"Folder {', '.join(missing)} does not exist on {endpoint.where} (it has "
                    f"{', '.join(sorted(existing)[:10])}); fix folders in the channel file."
                )
            found.detail = f"{', '.join(wanted)} found among {len(existing)} folders"
    finally:
        with contextlib.suppress(Exception):
            mailbox.logout()


async def _outbound(sign_in: _SignIn, send_to: str | None) -> None:
    channel, steps = sign_in.channel, sign_in.steps
    settings = channels.side_config(channel, "outbound")
    endpoint = channels.endpoint(channel, "outbound")
    _warn_cleartext(steps, endpoint)
    smtp = await smtp_conn.connect(endpoint, steps)
    try:
        await smtp_conn.login(smtp, endpoint, sign_in.credentials(endpoint), steps)
        if send_to:
            with steps.step("send test email", endpoint) as found:
                message = test_message(channel, settings, send_to)
                _refused, reply = await smtp.send_message(message)
                found.detail = f"accepted for {send_to}: {server_words(reply)}"
    finally:
        with contextlib.suppress(Exception):
            await smtp.quit()


class _SignIn:
    """The step before each login: where the password comes from, or the OAuth2 token.

    A token is refreshed for the test (it proves the stored refresh token still works), once
    per OAuth2 table: a second side on the same table uses the token just obtained.
    """

    def __init__(self, channel: Channel, store: Any, steps: Steps) -> None:
        self.channel = channel
        self.store = store
        self.steps = steps
        self._refreshed: set[str] = set()  # the OAuth2 tables refreshed by this test

    def credentials(self, endpoint: Endpoint) -> Credentials:
        side = endpoint.side
        settings = channels.side_config(self.channel, side)
        if settings.auth == "oauth2":
            with self.steps.step("OAuth2 token", endpoint) as found:
                table = tokens.oauth2_of(self.channel, side)
                fresh = table is not None and table.owner not in self._refreshed
                obtained = tokens.obtain(self.channel, side, self.store, force_refresh=fresh)
                self._refreshed.add(obtained.settings.owner)
                found.detail = _token_detail(obtained)
                found.warning = advice.for_side(self.channel, side)
            return signin.token_credentials(settings.username, obtained.token)
        with self.steps.step("credentials", endpoint) as found:
            credentials = signin.credentials(self.channel, side, self.store)
            found.detail = (
                "from password_command" if settings.password_command else "from the secret store"
            )
            found.warning = advice.for_side(self.channel, side)
        return credentials


def _token_detail(obtained: tokens.Obtained) -> str:
    """What the token step found: refreshed or reused, how long it lasts, a rotation."""
    minutes = max(0, round((obtained.token.expires_at - time.time()) / 60))
    lasts = f"expires in {minutes} min"
    if not obtained.refreshed:
        return f"obtained (the one this test just refreshed), {lasts}"
    if obtained.token.refresh_token:
        return f"refreshed, {lasts}; the provider sent a new refresh token, now stored"
    return f"refreshed with the stored refresh token, {lasts}"


def _warn_cleartext(steps: Steps, endpoint: Endpoint) -> None:
    if endpoint.security == "none":
        with steps.step("security", endpoint) as found:
            found.warning = (
                f"security is none: the {endpoint.label} password travels in clear to "
                f"{endpoint.where}."
            )
            found.detail = "no TLS"


def test_message(channel: Channel, settings: OutboundConfig, send_to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = send_to
    message["Subject"] = f"deskterm test message from channel {channel.name}"
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "deskterm.invalid"
    message["Message-ID"] = make_msgid("deskterm-test", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(
        f"This message was sent by `deskterm channel test {channel.name}` to check that the "
        "channel's SMTP settings work. No reply is needed.\n"
    )
    return message


# --- trusting a certificate again (`deskterm channel trust`, the UI's channel list) ----------


@dataclasses.dataclass(frozen=True)
class Presented:
    """A side's pinned certificate and the one its server presents now (SHA-256)."""

    side: str
    pinned: str | None
    seen: str

    @property
    def trusted(self) -> bool:
        return self.seen == self.pinned


def presented(channel: Channel, side: str) -> Presented:
    """What `channel trust` compares before it pins: the stored pin and the server's now."""
    return Presented(side, getattr(channel, f"{side}_pin"), presented_fingerprint(channel, side))


def nothing_to_pin(channel: Channel, side: str) -> str:
    """Why a side's certificate is never pinned ("" when it is: allow_self_signed over TLS)."""
    settings = channels.side_config(channel, side)
    if settings.security == "none":
        return (
            f"The {side} server of {channel.name!r} uses no TLS (security = none), so it has no "
            "certificate to trust."
        )
    if not settings.allow_self_signed:
        return (
            f"The {side} certificate of {channel.name!r} is verified against certificate "
            "authorities (allow_self_signed is off), so no pin is used."
        )
    return ""


def presented_fingerprint(channel: Channel, side: str) -> str:
    """The fingerprint the server presents now, read without checking the pin or logging in."""
    if channels.side_config(channel, side).security == "none":
        raise DeskError(nothing_to_pin(channel, side))
    endpoint = dataclasses.replace(
        channels.endpoint(channel, side), allow_self_signed=True, pin=None, on_pin=None
    )
    if side == "outbound":
        return asyncio.run(_smtp_fingerprint(endpoint))
    if ChannelConfig.of(channel).inbound.protocol == "pop3":
        client = pop3_conn.connect(endpoint)
        client.close()
    else:
        mailbox = imap_conn.connect(endpoint)
        mailbox.client.shutdown()
    assert endpoint.pin is not None
    return endpoint.pin


async def _smtp_fingerprint(endpoint: Endpoint) -> str:
    smtp = await smtp_conn.connect(endpoint)
    smtp.close()
    assert endpoint.pin is not None
    return endpoint.pin
