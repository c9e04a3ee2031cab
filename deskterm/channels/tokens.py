"""A channel's OAuth2 sign-in: its effective settings, and access tokens kept in memory only.

A side whose auth is "oauth2" signs in with the channel's `[oauth2]` table, or with a table of
its own (`[inbound.oauth2]`, `[outbound.oauth2]`: another app or account) where it has one.
Whose table it is, `OAuth2Settings.owner` ("oauth2", "inbound" or "outbound"), names its
secrets in the store (the refresh token, the optional client secret), its record in the
database and the `deskterm channel auth` command that signs it in again.

Access tokens live in this process's memory only, one per channel and owner (two sides on one
table share it), and are refreshed when they are within `MARGIN` seconds of expiring, when a
server refused the one in memory (once, however many logins met the refusal), or when a caller
forces it. Refreshes of one owner take turns: with rotation, two at once would spend the same
refresh token twice and the second would fail. A new (rotated) refresh token is written to the
secret store before the access token it came with is returned, so a crash right after a
refresh loses nothing. Tokens never leave here in a message, a log line or the database; the
database only learns *when* (`Channel.oauth_tokens`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import peewee

from deskterm.channels.registry import OAUTH2, SIDES, secret_key, side_config
from deskterm.channels.typed import ChannelConfig
from deskterm.errors import AuthError, ConfigError, SecretError
from deskterm.net import oauth2
from deskterm.net.oauth2 import Endpoints, OAuthError, Token
from deskterm.net.oauth2_providers import default_scope, endpoints
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import Channel

log = logging.getLogger(__name__)

MARGIN = 60.0  # seconds: an access token this close to expiring is refreshed first
REFRESH_TOKEN, CLIENT_SECRET = "refresh_token", "client_secret"  # their kinds in the store


@dataclass(frozen=True)
class OAuth2Settings:
    """How one table signs in, with the provider's presets filled in."""

    owner: str  # "oauth2" (the channel's table), or the side whose own table it is
    provider: str  # microsoft | google | generic (a side's own table is generic)
    client_id: str
    scope: str
    endpoints: Endpoints

    def command(self, channel: str) -> str:
        """The command that signs this table in (again)."""
        side = "" if self.owner == OAUTH2 else f" --{self.owner}"
        return f"deskterm channel auth {channel}{side}"


@dataclass(frozen=True)
class Obtained:
    """An access token for a login, and whether it was refreshed for this call."""

    token: Token  # its repr shows no token
    refreshed: bool  # False: the one in memory was still good
    settings: OAuth2Settings


def oauth2_of(channel: Channel, side: str) -> OAuth2Settings | None:
    """The table a side signs in with; None when it signs in with a password (or is absent)."""
    config = ChannelConfig.of(channel)
    settings = config.side(side)
    if settings is None or settings.auth != "oauth2":
        return None
    return _settings(channel, config, side if settings.oauth2 else OAUTH2)


def sign_in_settings(channel: Channel, side: str | None = None) -> OAuth2Settings:
    """The table `channel auth` and `channel secret --refresh-token` act on: the side's own,
    else the channel's; without a side, the channel's, else the one side table there is."""
    config = ChannelConfig.of(channel)
    if side is not None:
        settings = config.side(side)
        if settings is None:
            raise ConfigError(f"Channel {channel.name!r} has no [{side}] settings.")
        return _settings(channel, config, side if settings.oauth2 else OAUTH2)
    if config.oauth2 is not None:
        return _settings(channel, config, OAUTH2)
    owners = [s for s in SIDES if (c := config.side(s)) is not None and c.oauth2 is not None]
    if len(owners) > 1:
        raise ConfigError(
            f"Channel {channel.name!r} signs in its sides with separate [inbound.oauth2] and "
            "[outbound.oauth2] tables; add --inbound or --outbound."
        )
    return _settings(channel, config, owners[0] if owners else OAUTH2)


def _settings(channel: Channel, config: ChannelConfig, owner: str) -> OAuth2Settings:
    if owner != OAUTH2:
        side = config.side(owner)
        assert side is not None and side.oauth2 is not None
        table = side.oauth2
        where = Endpoints(token=table.token_url, device=table.device_url)
        return OAuth2Settings(owner, "generic", table.client_id, table.scope, where)
    top = config.oauth2
    if top is None:
        raise ConfigError(
            f"Channel {channel.name!r} has no [oauth2] table; add one (provider, client_id, "
            f"...) with `deskterm channel edit {channel.name} --file ...`."
        )
    where = endpoints(top.provider, top.tenant_id, top.token_endpoint, top.device_endpoint)
    scope = top.scope if top.scope is not None else default_scope(top.provider)
    return OAuth2Settings(OAUTH2, top.provider, top.client_id, scope, where)


def secret_of(channel: Channel, settings: OAuth2Settings, kind: str) -> str:
    """The secret store's key of a table's refresh token or client secret."""
    return secret_key(channel, settings.owner, kind)


# --- access tokens --------------------------------------------------------------------------

# By (channel uid, owner): the token, and the settings it was obtained with (a channel edited
# meanwhile, another client or scope, needs a token of its own).
_cache: dict[tuple[str, str], tuple[OAuth2Settings, Token]] = {}
_turns: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()


def access_token(channel: Channel, side: str, store: Any, *, force_refresh: bool = False) -> str:
    """An access token for the side's login (see `obtain`)."""
    return obtain(channel, side, store, force_refresh=force_refresh).token.access_token


def obtain(
    channel: Channel,
    side: str,
    store: Any,
    *,
    force_refresh: bool = False,
    refused: str | None = None,
) -> Obtained:
    """The side's access token: the one in memory while it has over `MARGIN` seconds left
    (and no refresh is forced, and it is not the `refused` one), else a refreshed one.

    `refused` is an access token a server refused: the sides and watchers that share a table
    all meet the refusal, and only the first refreshes; the others get the token it obtained.
    A refusal raises AuthError naming `deskterm channel auth`; an unreachable server a
    DeskError (try again later)."""
    settings = oauth2_of(channel, side)
    if settings is None:
        raise ConfigError(
            f"The {side} side of channel {channel.name!r} signs in with a password, not OAuth2."
        )
    key = (channel.uid, settings.owner)
    with _turn(key):
        obtained_with, token = _cache.get(key, (None, None))
        if (
            token is not None
            and obtained_with == settings
            and not force_refresh
            and token.access_token != refused
            and token.expires_at - time.time() > MARGIN
        ):
            return Obtained(token, False, settings)
        _cache.pop(key, None)
        token = _refresh(channel, settings, store, side_config(channel, side).timeout)
        _cache[key] = (settings, token)
        return Obtained(token, True, settings)


def remember(channel: Channel, settings: OAuth2Settings, token: Token) -> None:
    """Keep an access token just obtained by a sign-in, as a refresh would have."""
    key = (channel.uid, settings.owner)
    with _turn(key):
        _cache[key] = (settings, token)


def forget(channel: Channel, side: str | None = None) -> None:
    """Drop the access tokens in memory: the side's table's, or every one of the channel's."""
    if side is None:
        forget_owner(channel, None)
    elif (settings := oauth2_of(channel, side)) is not None:
        forget_owner(channel, settings.owner)


def forget_owner(channel: Channel, owner: str | None) -> None:
    """Drop the access tokens in memory of one table (None: of every table)."""
    for key in list(_cache):
        if key[0] == channel.uid and owner in (None, key[1]):
            _cache.pop(key, None)


def _turn(key: tuple[str, str]) -> threading.Lock:
    """The lock a table's refreshes take turns by (see the module's docstring)."""
    with _guard:
        return _turns.setdefault(key, threading.Lock())


def _refresh(channel: Channel, settings: OAuth2Settings, store: Any, timeout: float) -> Token:
    key = secret_of(channel, settings, REFRESH_TOKEN)
    advice = f"run `{settings.command(channel.name)}`"
    stored = store.get(key)
    if not stored:
        raise AuthError(f"Channel {channel.name!r} has no OAuth2 sign-in yet; {advice}.")
    secret = store.get(secret_of(channel, settings, CLIENT_SECRET))
    try:
        token = _grant(settings, stored, secret, timeout)
    except OAuthError as refused:
        # Another process (the worker, `channel test`) may have rotated it meanwhile: its
        # new refresh token is in the store by now, and the one read above is spent.
        newer = store.get(key)
        if refused.code != "invalid_grant" or not newer or newer == stored:
            raise refused.with_advice(advice) from None
        try:
            token = _grant(settings, newer, secret, timeout)
        except OAuthError as again:
            raise again.with_advice(advice) from None
    if token.refresh_token:  # rotated: the old one is spent, so this one must be kept first
        try:
            store.set(key, token.refresh_token)
        except SecretError as exc:
            raise SecretError(
                f"Channel {channel.name!r}'s new OAuth2 refresh token could not be saved, so "
                f"its sign-in is lost ({str(exc).rstrip('.')}); fix that, then {advice}."
            ) from None
    record(channel, settings.owner, stored=bool(token.refresh_token), refreshed=True)
    return token


def _grant(
    settings: OAuth2Settings, refresh_token: str, secret: str | None, timeout: float
) -> Token:
    return oauth2.refresh(
        settings.endpoints,
        settings.client_id,
        refresh_token,
        settings.scope,
        secret,
        timeout=timeout,
    )


# --- what the database knows: when, never what ------------------------------------------------


def record(channel: Channel, owner: str, *, stored: bool = False, refreshed: bool = False) -> None:
    """Note that the owner's refresh token was stored and/or just refreshed, with the time."""
    if channel.id is None:  # a `trial` channel (the form's Test) is never written
        return
    now = iso(utcnow())
    try:
        with database.atomic():
            row = Channel.select(Channel.oauth_tokens).where(Channel.id == channel.id).first()
            state = dict((row.oauth_tokens if row else None) or {})
            entry = dict(state.get(owner) or {})
            if stored:
                entry["stored_at"] = now
            if refreshed:
                entry["refreshed_at"] = now
            state[owner] = entry
            Channel.update(oauth_tokens=state).where(Channel.id == channel.id).execute()
    except peewee.OperationalError as exc:  # only the time is lost, never the token
        log.warning("channel %s: the OAuth2 record was not written (%s)", channel.name, exc)
        return
    channel.oauth_tokens = state


def status(channel: Channel) -> dict[str, Any]:
    """What `channel show` says of each OAuth2 table in use: whether a refresh token is stored
    and when it was stored and last refreshed (from the database; never the token)."""
    config = ChannelConfig.of(channel)
    owners: dict[str, list[str]] = {}
    for side in SIDES:
        try:
            settings = oauth2_of(channel, side)
        except ConfigError:
            continue
        if settings is not None:
            owners.setdefault(settings.owner, []).append(side)
    if config.oauth2 is not None:
        owners.setdefault(OAUTH2, [])
    state = channel.oauth_tokens or {}
    for owner in state:
        owners.setdefault(owner, [])
    return {
        owner: {
            "used_by": used_by,
            "refresh_token": "stored" if state.get(owner, {}).get("stored_at") else "none",
            "stored_at": state.get(owner, {}).get("stored_at"),
            "refreshed_at": state.get(owner, {}).get("refreshed_at"),
        }
        for owner, used_by in owners.items()
    }
