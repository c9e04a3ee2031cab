"""Channels: stored settings, their secrets' keys, and the endpoints to reach their servers.

Settings live in the database (no secrets); passwords live in the secret store under keys
derived from the channel's immutable `uid`, so a rename never orphans or exposes a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr
from typing import Any, Literal, overload

import peewee

from deskterm.channels.typed import ChannelConfig, ConnectionConfig, InboundConfig, OutboundConfig
from deskterm.errors import ConfigError, NotFound, SecretError
from deskterm.mail import addresses
from deskterm.net.tls import Endpoint
from deskterm.store.db import database, iso, utcnow
from deskterm.store.models import Channel, ConversationType

SIDES = ("inbound", "outbound")
OAUTH2 = "oauth2"  # the owner of the channel's [oauth2] table's secrets (a side owns its own)
# Every secret a channel may hold, by owner and kind: each side's password, and the OAuth2
# refresh token and client secret of the channel's [oauth2] table ("oauth2") or of a side's
# own [side.oauth2] table (see channels.tokens).
SECRETS = tuple(
    (owner, kind)
    for owner in (*SIDES, OAUTH2)
    for kind in ("password", "refresh_token", "client_secret")
    if (owner, kind) != (OAUTH2, "password")
)


def add(config: dict[str, Any]) -> Channel:
    _known_types(config)
    with database.atomic():
        if Channel.select().where(Channel.name == config["name"]).exists():
            raise ConfigError(
                f"A channel named {config['name']!r} already exists; use `deskterm channel edit "
                f"{config['name']} --file ...` to change it."
            )
        return Channel.create(name=config["name"], status=config["status"], settings=config)


def edit(name: str, config: dict[str, Any]) -> Channel:
    """Replace a channel's settings; a changed server forgets its certificate pin."""
    _known_types(config)
    with database.atomic():
        channel = get(name)
        if (
            config["name"] != name
            and Channel.select().where(Channel.name == config["name"]).exists()
        ):
            raise ConfigError(f"Cannot rename {name!r}: a channel named {config['name']!r} exists.")
        for side in SIDES:
            if not _same_server(channel, config, side):
                setattr(channel, f"{side}_pin", None)
        channel.name = config["name"]
        channel.status = config["status"]
        channel.settings = config
        channel.updated_at = utcnow()
        channel.save()
        return channel


def _known_types(config: dict[str, Any]) -> None:
    """A channel's `[tickets]` may name only types the desk has (the file's check cannot
    know them; deskterm.desk.types defines them)."""
    tickets = config.get("tickets") or {}
    named = [*tickets.get("types", []), *[t for t in [tickets.get("default_type")] if t]]
    if not named:
        return
    known = {n for (n,) in ConversationType.select(ConversationType.name).tuples()}
    missing = [t for t in dict.fromkeys(named) if t not in known]
    if missing:
        raise ConfigError(
            f"tickets names the type {', '.join(missing)}, which the desk does not have; add "
            "it with `deskterm type add NAME` first (`deskterm type list` shows the types)."
        )


def remove(name: str, store: Any | None = None) -> None:
    """Delete a channel, its conversations and, when a store is given, its secrets."""
    channel = get(name)
    if store is not None:
        for owner, kind in SECRETS:
            store.delete(secret_key(channel, owner, kind))
    channel.delete_instance(recursive=True)


def get(name: str) -> Channel:
    try:
        return Channel.get(Channel.name == name)
    except peewee.DoesNotExist:
        raise NotFound(
            f"There is no channel named {name!r}; `deskterm channel list` shows the channels."
        ) from None


def all_channels() -> list[Channel]:
    return list(Channel.select().order_by(Channel.name))


def secret_key(channel: Channel, side: str, kind: str = "password") -> str:
    return f"channel/{channel.uid}/{side}/{kind}"


@overload
def side_config(channel: Channel, side: Literal["inbound"]) -> InboundConfig: ...
@overload
def side_config(channel: Channel, side: Literal["outbound"]) -> OutboundConfig: ...
@overload
def side_config(channel: Channel, side: str) -> ConnectionConfig: ...
def side_config(channel: Channel, side: str) -> ConnectionConfig:
    """A side's table; a channel without it (no [outbound]) is refused in one sentence."""
    settings = ChannelConfig.of(channel).side(side)
    if settings is None:
        raise ConfigError(
            f"Channel {channel.name!r} has no [{side}] settings; add them with "
            f"`deskterm channel edit {channel.name} --file ...`."
        )
    return settings


def endpoint(channel: Channel, side: str) -> Endpoint:
    """Where a channel's server is, with its pin; a first pin is saved as soon as it is seen."""
    settings = side_config(channel, side)
    label = settings.protocol if isinstance(settings, InboundConfig) else "smtp"

    def save_pin(fingerprint: str) -> None:
        if channel.id is not None:  # a `trial` channel (the form's Test) is never written
            Channel.update({f"{side}_pin": fingerprint}).where(Channel.id == channel.id).execute()
        setattr(channel, f"{side}_pin", fingerprint)

    return Endpoint(
        label=label.upper(),
        host=settings.host,
        port=settings.port,
        security=settings.security,
        timeout=settings.timeout,
        allow_self_signed=settings.allow_self_signed,
        tls_ca_file=settings.tls_ca_file,
        pin=getattr(channel, f"{side}_pin"),
        channel=channel.name,
        side=side,
        on_pin=save_pin,
    )


def password(channel: Channel, side: str, store: Any) -> str:
    """The secret to log in with: from the password command if one is set, else the store."""
    from deskterm.secrets.store import run_password_command

    settings = side_config(channel, side)
    if settings.password_command:
        return run_password_command(settings.password_command)
    secret = store.get(secret_key(channel, side))
    if not secret:
        raise SecretError(
            f"No {side} password is set for channel {channel.name!r}; set it with "
            f"`deskterm channel secret {channel.name} --{side} --stdin`."
        )
    return secret


def trust_sides(channel: Channel, sides: Iterable[str] = ()) -> tuple[str, ...]:
    """The sides `channel trust` looks at: those asked for, else every side the channel has."""
    config = ChannelConfig.of(channel)
    return tuple(sides) or tuple(s for s in SIDES if config.side(s) is not None)


def trust(channel: Channel, side: str, fingerprint: str | None) -> None:
    """Forget (or set) a pinned certificate: the next connection pins what it sees."""
    Channel.update({f"{side}_pin": fingerprint}).where(Channel.id == channel.id).execute()
    setattr(channel, f"{side}_pin", fingerprint)


def describe(channel: Channel) -> dict[str, Any]:
    """What `channel show --json` prints: the settings plus state, never a secret."""
    return {
        **channel.settings,
        "name": channel.name,
        "status": channel.status,
        "pins": {"inbound": channel.inbound_pin, "outbound": channel.outbound_pin},
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
    }


def set_paused(name: str, paused: bool) -> Channel:
    """Pause or resume polling; only the flag is written, so the worker's health stays."""
    channel = get(name)
    Channel.update(paused=paused, updated_at=utcnow()).where(Channel.id == channel.id).execute()
    channel.paused = paused
    return channel


# --- the UI's channel form ------------------------------------------------------------------


def save(
    config: dict[str, Any],
    *,
    original: str | None = None,
    passwords: dict[str, str] | None = None,
    store: Any | None = None,
    tested: Channel | None = None,
) -> Channel:
    """Add (or, given the `original` name, edit) a channel, then store the passwords typed.

    The settings are committed first because a secret's key comes from the channel's uid,
    which a new channel has only once it exists; a store that fails then leaves a saved
    channel without its password, and the error says so. A certificate pinned by a `tested`
    trial of the same server is kept, as `deskterm channel test` would have pinned it.
    """
    channel = edit(original, config) if original else add(config)
    if tested is not None:
        for side in SIDES:
            pin = getattr(tested, f"{side}_pin")
            same = _same_server(tested, config, side)
            if pin and same and getattr(channel, f"{side}_pin") is None:
                trust(channel, side, pin)
    for side, secret in (passwords or {}).items():
        if not secret:
            continue
        if store is None:
            raise SecretError(
                f"Channel {channel.name!r} was saved, but no secret store is open, so its {side} "
                "password was not stored."
            )
        try:
            store.set(secret_key(channel, side), secret)
        except SecretError as exc:
            raise SecretError(
                f"Channel {channel.name!r} was saved, but its {side} password was not: {exc}"
            ) from None
    return channel


def trial(config: dict[str, Any], original: str | None = None) -> Channel:
    """An unsaved channel with the form's settings, for testing them before they are saved.

    It has the stored channel's uid (so its stored passwords are found) and its pins for a
    server that did not change; it has no id, so the test never writes to the database.
    """
    channel = Channel(name=config["name"], status=config["status"], settings=config)
    if original:
        stored = get(original)
        channel.uid = stored.uid
        for side in SIDES:
            if _same_server(stored, config, side):
                setattr(channel, f"{side}_pin", getattr(stored, f"{side}_pin"))
    return channel


class TypedPasswords:
    """A secret store for testing a form: the passwords typed but not yet saved come first.

    Anything else goes to the real store (None: there is none, so nothing is found), and so
    does what the test writes (a rotated refresh token, `set`).
    """

    def __init__(self, channel: Channel, typed: dict[str, str], store: Any | None) -> None:
        self._typed = {secret_key(channel, side): v for side, v in typed.items() if v}
        self._store = store

    def get(self, key: str) -> str | None:
        if key in self._typed:
            return self._typed[key]
        return None if self._store is None else self._store.get(key)

    def set(self, key: str, value: str) -> None:
        """What a test stores: a refresh token its provider rotated while the test refreshed
        the sign-in. The old one is spent by then, so this goes to the real store at once."""
        if self._store is None:
            raise SecretError("No secret store is open, so the new secret could not be stored.")
        self._store.set(key, value)


def own_addresses(config: ChannelConfig) -> set[str]:
    """The channel's own addresses: mail from them is a loop, and they are never Cc'd."""
    found = {addresses.normal(a) for a in config.reading.aliases}
    outbound = config.outbound
    mine = [config.inbound.username, *((outbound.username, outbound.sender) if outbound else ())]
    for value in mine:
        address = addresses.normal(parseaddr(value or "")[1])
        if "@" in address:
            found.add(address)
    return found


def _same_server(channel: Channel, config: dict[str, Any], side: str) -> bool:
    """Whether a channel's side and the same side of new settings are the same server."""
    return _server(ChannelConfig.of(channel).side(side)) == _server(
        ChannelConfig.from_settings(config).side(side)
    )


def _server(settings: ConnectionConfig | None) -> tuple[Any, ...] | None:
    if settings is None:
        return None
    return (settings.host, settings.port, settings.security)
