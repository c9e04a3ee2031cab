"""The channel file: one email channel described in TOML, validated into plain data.

The file's shape is a contract (scripts and other tools write it), so every key is checked:
unknown keys, wrong types and impossible values are refused with a sentence naming the key,
and a file holding a password is refused outright, since secrets belong in the secret store.
The tables' `Field` defaults are the only ones: code reads the stored result back as typed
values (channels.typed), which take a missing key's default from here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from deskterm.channels.fields import (
    Field,
    address,
    boolean,
    command,
    day,
    endpoint,
    int_range,
    kind,
    lower_list,
    mappings,
    nonempty,
    number,
    one_of,
    opt_address,
    opt_endpoint,
    opt_text,
    path,
    string,
    text_list,
    windows,
)
from deskterm.errors import ConfigError
from deskterm.net.oauth2_providers import PROVIDERS, endpoints
from deskterm.net.tls import is_loopback
from deskterm.settings import SMTP_PORTS

STATUSES = ("draft", "active", "disabled")
PROTOCOLS = ("imap", "pop3")
SECURITY = ("ssl", "starttls", "none")
AUTH = ("password", "oauth2")

# Keys that would hold a secret, wherever they appear in the file.
SECRET_KEYS = frozenset(
    {
        "password",
        "pass",
        "passwd",
        "secret",
        "client_secret",
        "refresh_token",
        "access_token",
        "token",
        "api_key",
    }
)

DEFAULT_PORTS = {
    ("imap", "ssl"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("pop3", "ssl"): 995,
    ("pop3", "starttls"): 110,
    ("pop3", "none"): 110,
    **{("smtp", security): port for security, port in SMTP_PORTS.items()},
}

# The channel's [oauth2] table: how both sides sign in when their auth is "oauth2". The
# provider's presets (net.oauth2_providers) fill in what the table leaves out: the endpoints
# (from tenant_id for microsoft) and the scope.
CHANNEL_OAUTH2 = {
    "provider": Field(one_of(PROVIDERS), required=True),
    "tenant_id": Field(opt_text, default=None),  # microsoft: its id, a domain, "organizations"
    "client_id": Field(nonempty, required=True),
    "scope": Field(opt_text, default=None),  # None: the provider's default scope
    "token_endpoint": Field(opt_endpoint, default=None),  # None: the provider's
    "device_endpoint": Field(opt_endpoint, default=None),  # None: the provider's
}

# A side's own [inbound.oauth2] / [outbound.oauth2] table: that side signs in with it instead
# of the channel's [oauth2] (another app or account), with a refresh token of its own.
OAUTH2 = {
    "client_id": Field(nonempty, required=True),
    "token_url": Field(endpoint, required=True),
    "device_url": Field(opt_endpoint, default=None),
    "scope": Field(string, default=""),
}

_CONNECTION = {
    "host": Field(nonempty, required=True),
    "port": Field(int_range(1, 65535)),
    "security": Field(one_of(SECURITY), default="ssl"),
    "username": Field(nonempty, required=True),
    "auth": Field(one_of(AUTH), default="password"),
    "allow_self_signed": Field(boolean, default=False),
    "allow_insecure": Field(boolean, default=False),
    "tls_ca_file": Field(path, default=None),
    "timeout": Field(number(1, 600), default=30.0),
    "password_command": Field(command, default=None),
    "oauth2": Field(lambda k, v: v, default=None),  # checked as a table below
}

INBOUND = {
    **_CONNECTION,
    "protocol": Field(one_of(PROTOCOLS), default="imap"),
    "folders": Field(text_list, default=["INBOX"]),
    "max_age_days": Field(int_range(0, 36500), default=5),
    "sync_start_date": Field(day, default=None),
    "max_tries": Field(int_range(1, 100), default=3),
    "cool_off_minutes": Field(int_range(0, 10080), default=10),
    "skip_windows": Field(windows, default=[]),
    "poll_interval": Field(number(1, 86400), default=60.0),
    "idle": Field(boolean, default=True),
    "move_on_success": Field(opt_text, default=None),
    "move_on_failure": Field(opt_text, default=None),
    "delete_after_fetch": Field(boolean, default=False),
    "max_message_bytes": Field(int_range(1024, 2**31), default=50 * 1024 * 1024),
}

OUTBOUND = {
    **_CONNECTION,
    "security": Field(one_of(SECURITY), default="starttls"),
    "from": Field(address, required=True),
    "reply_to": Field(opt_address, default=None),
    "sent_folder": Field(opt_text, default=None),
    "max_attachment_bytes": Field(int_range(0, 2**31), default=25 * 1024 * 1024),
    "quote_previous": Field(boolean, default=True),
    "retry_base_seconds": Field(number(1, 86400), default=60.0),
    "max_attempts": Field(int_range(1, 1000), default=10),
    "auto_ack_template": Field(opt_text, default=None),
    "auto_ack_per_hour": Field(int_range(1, 1000), default=3),
    "resolved_template": Field(opt_text, default=None),
    "reply_template": Field(opt_text, default=None),
}

READING = {
    "allowed_domains": Field(lower_list, default=[]),
    "accept_autogenerated": Field(boolean, default=False),
    "aliases": Field(lower_list, default=[]),
    "exclude_subjects": Field(text_list, default=[]),
    "exclude_from_domains": Field(lower_list, default=[]),
    "exclude_from_addresses": Field(lower_list, default=[]),
    # Web-form mailboxes mail from a no-reply address and put the customer in Reply-To.
    "customer_from": Field(one_of(("from", "reply-to")), default="from"),
    # The receiving server whose Authentication-Results are believed (deskterm.mail.authresults).
    "authserv_id": Field(opt_text, default=None),
}

# What a channel's mail becomes beyond a conversation: its type, its custom fields filled from
# the mail (deskterm.inbound.mappings), and the raw mail as an attachment.
TICKETS = {
    "types": Field(lower_list, default=[]),  # the types its conversations may have; [] = any
    "default_type": Field(opt_text, default=None),  # a new conversation's type; None: untyped
    "mappings": Field(mappings, default=[]),
    "email_as_attachment": Field(boolean, default=False),  # the raw mail, on the first message
}

TOP = {
    "name": Field(nonempty, required=True),
    "status": Field(one_of(STATUSES), default="draft"),
}

TABLES = ("inbound", "outbound", "reading", "tickets", "oauth2")  # the top level's tables


def parse_channel_file(path: Path) -> dict[str, Any]:
    """Read and validate a channel file; the result is what the desk stores."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.") from None
    return parse_channel_text(text, source=str(path))


def parse_channel_text(text: str, source: str = "channel file") -> dict[str, Any]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}.") from None
    try:
        return validate(raw)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    """Check a channel description (from TOML or JSON) and fill in every default."""
    name = raw.get("name") if isinstance(raw.get("name"), str) else "NAME"
    _refuse_secrets(raw, "", name)
    _refuse_unknown(raw, {**TOP, **dict.fromkeys(TABLES)}, "")
    config = _table({k: v for k, v in raw.items() if k in TOP}, TOP, "")
    if not _valid_name(config["name"]):
        raise ConfigError(
            "name may hold only letters, digits, '.', '_' and '-' (it is used on the command line)."
        )
    if "inbound" not in raw:
        raise ConfigError("the [inbound] table is missing; a channel needs a mailbox to read.")
    config["inbound"] = _connection(raw["inbound"], INBOUND, "inbound", "inbound")
    if "outbound" in raw:
        config["outbound"] = _connection(raw["outbound"], OUTBOUND, "outbound", "smtp")
    else:
        config["outbound"] = None
    config["reading"] = _table(_as_table(raw.get("reading", {}), "reading"), READING, "reading")
    config["tickets"] = _tickets(raw.get("tickets", {}))
    config["oauth2"] = _channel_oauth2(raw["oauth2"]) if "oauth2" in raw else None
    for side in ("inbound", "outbound"):
        table = config[side]
        if table and table["auth"] == "oauth2" and not table["oauth2"] and not config["oauth2"]:
            raise ConfigError(
                f"{side}.auth is oauth2 but the channel has no [oauth2] table; add one "
                "(provider, client_id, ...) as the channel file keys in README.md show."
            )
    return config


def _tickets(raw: Any) -> dict[str, Any]:
    """The [tickets] table: a default type must be one the channel allows. Whether the types
    exist is the desk's to say (channels.registry checks it when the channel is saved)."""
    table = _table(_as_table(raw, "tickets"), TICKETS, "tickets")
    if table["default_type"] is not None:
        table["default_type"] = table["default_type"].lower()
        if table["types"] and table["default_type"] not in table["types"]:
            raise ConfigError(
                f"tickets.default_type = {table['default_type']!r} is not one of tickets.types; "
                "add it there or choose one of them."
            )
    return table


def _channel_oauth2(raw: Any) -> dict[str, Any]:
    """The [oauth2] table, checked against its provider's presets (generic needs both
    endpoints, microsoft its tenant)."""
    table = _table(_as_table(raw, "oauth2"), CHANNEL_OAUTH2, "oauth2")
    endpoints(
        table["provider"], table["tenant_id"], table["token_endpoint"], table["device_endpoint"]
    )
    return table


def _connection(raw: Any, spec: dict[str, Field], prefix: str, proto: str) -> dict[str, Any]:
    table = _table(_as_table(raw, prefix), spec, prefix)
    if proto == "inbound":
        proto = table["protocol"]
    if table.get("port") is None:
        table["port"] = DEFAULT_PORTS[(proto, table["security"])]
    if table["oauth2"] is not None:
        table["oauth2"] = _table(
            _as_table(table["oauth2"], f"{prefix}.oauth2"), OAUTH2, f"{prefix}.oauth2"
        )
    allowed = plaintext_allowed(table["host"], table["allow_insecure"])
    if table["security"] == "none" and not allowed:
        raise ConfigError(
            f'{prefix}.security = "none" would send the password in clear to {table["host"]}; '
            "use ssl or starttls, or set allow_insecure = true if you really mean it."
        )
    return table


def _table(raw: dict[str, Any], spec: dict[str, Field], prefix: str) -> dict[str, Any]:
    _refuse_unknown(raw, spec, prefix)
    out: dict[str, Any] = {}
    for key, field in spec.items():
        name = f"{prefix}.{key}" if prefix else key
        if key in raw:
            out[key] = field.check(name, raw[key])
        elif field.required:
            raise ConfigError(f"{name} is missing.")
        else:
            default = field.default
            out[key] = list(default) if isinstance(default, list) else default
    return out


def _as_table(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a table ([{name}]), not {kind(value)}.")
    return value


def _refuse_unknown(raw: dict[str, Any], spec: dict[str, Any], prefix: str) -> None:
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        where = f"in [{prefix}]" if prefix else "at the top level"
        raise ConfigError(
            f"unknown key {', '.join(unknown)} {where}; see the channel file keys in README.md."
        )


def _refuse_secrets(raw: Any, prefix: str, channel: str) -> None:
    if not isinstance(raw, dict):
        return
    for key, value in raw.items():
        name = f"{prefix}.{key}" if prefix else key
        if key.lower() in SECRET_KEYS:
            raise ConfigError(
                f"{name} holds a secret, and channel files must not: remove it and "
                f"{_where_secrets_go(name, channel)}."
            )
        _refuse_secrets(value, name, channel)


def _where_secrets_go(name: str, channel: str) -> str:
    """The command that stores the secret a file's key held."""
    key = name.rpartition(".")[2].lower()
    side = next((f" --{s}" for s in ("inbound", "outbound") if name.startswith(f"{s}.")), "")
    if key in ("client_secret", "refresh_token"):
        flag = key.replace("_", "-")
        return f"store it with `deskterm channel secret {channel}{side} --{flag} --stdin`"
    if key in ("access_token", "token"):
        return f"sign in with `deskterm channel auth {channel}{side}`"
    side = side or " --inbound"
    return (
        f"store it with `deskterm channel secret {channel}{side} --stdin`, or set password_command"
    )


def _valid_name(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name) is not None


def plaintext_allowed(host: str, allow_insecure: bool) -> bool:
    """Security "none" (a password in clear) only to this machine, or when explicitly allowed:
    the one rule for channels and system notifications (deskterm/outbound/notify.py)."""
    return allow_insecure or is_loopback(host)
