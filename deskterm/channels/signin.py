"""Signing a channel's side in: the credentials its `auth` asks for, and the one more try a
refused OAuth2 token gets.

A password comes from the password command or the secret store (`registry.password`); an
OAuth2 access token from the token manager (`tokens.access_token`), which refreshes it shortly
before it expires. A server may still refuse a token our clock thinks valid (revoked, expired
early, the provider's clocks): then it is refreshed once and the login tried once more. What
fails after that (a refresh the provider refuses, a token refused again) fails this channel
alone, with the sentence that says what to run.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from deskterm.channels import registry, tokens
from deskterm.channels.typed import ChannelConfig
from deskterm.net.login import Credentials, TokenRefused
from deskterm.net.oauth2 import Token
from deskterm.store.models import Channel


def credentials(
    channel: Channel, side: str, store: object, *, refused: Credentials | None = None
) -> Credentials:
    """Who the side signs in as, with its password or a current access token (another than
    the `refused` one's)."""
    settings = registry.side_config(channel, side)
    if settings.auth == "oauth2":
        spent = refused.secret if refused is not None else None
        obtained = tokens.obtain(channel, side, store, refused=spent)
        return token_credentials(settings.username, obtained.token)
    return Credentials(settings.username, registry.password(channel, side, store))


def holds_secrets(channel: Channel, store: object) -> bool:
    """Whether this machine can sign the channel in on every side it has, without asking a
    server: a password command, a stored password, or a stored OAuth2 refresh token. On a
    team desk a machine without them never leads the channel (its secrets stay where the
    worker runs)."""
    return not missing_secrets(channel, store)


def missing_secrets(channel: Channel, store: object) -> list[tuple[str, bool]]:
    """The sides this machine cannot sign in, each with whether it is an OAuth2 sign-in (a
    refresh token missing) rather than a password: what a team desk's `why_not` names, so
    the agent learns which secret to store here. A store that cannot be read counts as
    holding nothing."""
    from deskterm.errors import SecretError

    config = ChannelConfig.of(channel)
    sides = [(side, config.side(side)) for side in registry.SIDES]
    missing: list[tuple[str, bool]] = []
    for side, settings in sides:
        if settings is None:
            continue
        table = tokens.oauth2_of(channel, side)
        if table is None and settings.password_command:
            continue
        try:
            if table is not None:
                key = tokens.secret_of(channel, table, "refresh_token")
            else:
                key = registry.secret_key(channel, side)
            held = bool(store.get(key))  # type: ignore[attr-defined]
        except SecretError:
            held = False
        if not held:
            missing.append((side, table is not None))
    return missing


def token_credentials(username: str, token: Token) -> Credentials:
    """Signing in as `username` with an access token."""
    return Credentials(username, token.access_token, oauth2=True, expires_at=token.expires_at)


def sign_in(
    channel: Channel, side: str, store: object, login: Callable[[Credentials], None]
) -> Credentials:
    """Run `login` with the side's credentials, once more with a refreshed token if the
    server refuses the token; returns the credentials that worked."""
    found = credentials(channel, side, store)
    try:
        login(found)
    except TokenRefused:
        found = credentials(channel, side, store, refused=found)
        login(found)
    return found


async def sign_in_async(
    channel: Channel, side: str, store: object, login: Callable[[Credentials], Awaitable[None]]
) -> Credentials:
    """`sign_in` for a login that is a coroutine (SMTP)."""
    found = credentials(channel, side, store)
    try:
        await login(found)
    except TokenRefused:
        found = credentials(channel, side, store, refused=found)
        await login(found)
    return found


def good_for(credentials: Credentials) -> float | None:
    """Seconds a session signed in with these credentials may be held before it signs in
    again with a refreshed token (servers such as Exchange Online end a session whose token
    expired); None: a password's has no end."""
    if credentials.expires_at is None:
        return None
    return credentials.expires_at - tokens.MARGIN - time.time()


def oauth2_tables(channel: Channel) -> list[str | None]:
    """The OAuth2 tables a sign-in (`channel auth`, the UI's dialog) is needed for: None for
    the channel's [oauth2], a side for that side's own table. A channel whose sides sign in
    with passwords yet has an [oauth2] table may be signed in ahead; ConfigError without one."""
    owners: list[str] = []
    for side in registry.SIDES:
        table = tokens.oauth2_of(channel, side)
        if table is not None and table.owner not in owners:
            owners.append(table.owner)
    if not owners:
        owners.append(tokens.sign_in_settings(channel).owner)
    return [None if owner == registry.OAUTH2 else owner for owner in owners]
