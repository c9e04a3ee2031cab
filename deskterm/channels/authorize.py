"""Authorizing a channel with its OAuth2 provider: the device grant (RFC 8628), as
`az login --use-device-code` does it, for `deskterm channel auth` and the TUI's dialog.

Nothing here needs a browser on this machine: `start` asks the provider for a short code and
the URL where anyone, on any device, enters it; the front end shows both; `finish` polls the
token endpoint at the interval the provider asks for until the code is entered (or declined,
or expired, or the front end cancels), then stores the refresh token that signs the channel
in from then on. A refresh token obtained elsewhere goes in through `store_refresh_token`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deskterm.channels import tokens
from deskterm.channels.registry import OAUTH2, side_config
from deskterm.channels.tokens import CLIENT_SECRET, REFRESH_TOKEN, OAuth2Settings
from deskterm.errors import AuthError, ConfigError
from deskterm.net import oauth2
from deskterm.net.oauth2 import DeviceCode, Token
from deskterm.store.models import Channel


@dataclass(frozen=True, eq=False)
class Authorization:
    """A started sign-in: the code to show (`device`), and what polling for it needs."""

    channel: Channel
    settings: OAuth2Settings
    device: DeviceCode
    client_secret: str | None = field(repr=False)
    timeout: float

    @property
    def command(self) -> str:
        """The command that starts this sign-in again."""
        return self.settings.command(self.channel.name)


def start(channel: Channel, store: Any, side: str | None = None) -> Authorization:
    """Ask the provider for a device code for the channel's table (see
    `tokens.sign_in_settings`); the client secret, if one is stored, goes with it. `store`
    is made ready to write first (`SecretStore.ready_to_write`): whatever it must ask is
    asked before there is a code to lose."""
    settings = tokens.sign_in_settings(channel, side)
    if settings.endpoints.device is None:
        where = "[oauth2] device_endpoint" if settings.owner == OAUTH2 else "device_url"
        raise ConfigError(
            f"Channel {channel.name!r} has no device sign-in endpoint; set {where}, or store a "
            f"refresh token with `deskterm channel secret {channel.name} --refresh-token "
            "--stdin`."
        )
    # The device code is spent once the person approves it: the store must be able to keep
    # the refresh token before the code exists (a new vault's passphrase is asked now).
    store.ready_to_write()
    side = "inbound" if settings.owner == OAUTH2 else settings.owner
    timeout = side_config(channel, side).timeout
    secret = store.get(tokens.secret_of(channel, settings, CLIENT_SECRET))
    device = oauth2.start_device_flow(
        settings.endpoints, settings.client_id, settings.scope, secret, timeout=timeout
    )
    return Authorization(channel, settings, device, secret, timeout)


def finish(
    started: Authorization,
    store: Any,
    *,
    sleep: Callable[[float], object] = time.sleep,
    cancelled: Callable[[], bool] = lambda: False,
) -> Token:
    """Wait for the code to be entered, then store the refresh token and keep the access
    token. OAuthError when the sign-in is declined, expires or is cancelled."""
    settings = started.settings
    token = oauth2.poll_device_flow(
        settings.endpoints,
        settings.client_id,
        started.device,
        started.client_secret,
        sleep=sleep,
        cancelled=cancelled,
        timeout=started.timeout,
    )
    if not token.refresh_token:
        raise AuthError(
            "The provider signed in but gave no refresh token, so the desk could not sign in "
            f"again once this hour is over; add offline_access to the scope, then run "
            f"`{started.command}`."
        )
    store_refresh_token(started.channel, settings, store, token.refresh_token, refreshed=True)
    tokens.remember(started.channel, settings, token)
    return token


def store_refresh_token(
    channel: Channel, settings: OAuth2Settings, store: Any, value: str, *, refreshed: bool = False
) -> None:
    """Keep a refresh token for the table, and the time; access tokens from an older one
    (maybe another account's) are forgotten. A channel cooling off after failed sign-ins is
    polled again at the worker's next pass instead of waiting its cool-off out: the new
    sign-in is what it was waiting for."""
    store.set(tokens.secret_of(channel, settings, REFRESH_TOKEN), value)
    tokens.forget_owner(channel, settings.owner)
    tokens.record(channel, settings.owner, stored=True, refreshed=refreshed)
    Channel.update(cool_off_until=None).where(Channel.id == channel.id).execute()
