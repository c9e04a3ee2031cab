"""A channel's configuration as typed values: what code reads instead of the stored dict.

The channel file is checked by `channels.config`, and the desk stores the result (every
default filled in) as `Channel.settings`. Code reads it back through `ChannelConfig.of`, as
frozen dataclasses, so `inbound.poll_interval` is a float and has one spelling.

Each default lives in the file schema (`config.INBOUND`, `OUTBOUND`, `READING`, `TICKETS`,
`OAUTH2`, `CHANNEL_OAUTH2`, `TOP`), and only there: a dict stored by an older desk, before a key
existed, reads that key's default from the schema, so no use site restates one. A dataclass
field is named after its key (`from` is `sender`, a Python keyword), and lists are tuples:
the values compare equal when the settings do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from deskterm.channels.config import (
    CHANNEL_OAUTH2,
    DEFAULT_PORTS,
    INBOUND,
    OAUTH2,
    OUTBOUND,
    READING,
    TICKETS,
    TOP,
)
from deskterm.channels.fields import Field
from deskterm.store.models import Channel


class Table:
    """A table of the channel file, read from what the desk stored by its `SCHEMA`."""

    SCHEMA: ClassVar[dict[str, Field]]

    @classmethod
    def from_settings(cls, stored: Mapping[str, Any]) -> Self:
        return cls(**cls._values(stored))

    @classmethod
    def _values(cls, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The fields from a stored table: a key it lacks takes the schema's default."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            if item.metadata.get("table"):
                continue  # a table of its own, built by its class
            key = schema_key(item)
            value = stored[key] if key in stored else cls.SCHEMA[key].default
            values[item.name] = tuple(value) if isinstance(value, list) else value
        return values


@dataclass(frozen=True)
class ChannelOAuth2Config(Table):
    """The channel's `[oauth2]` table, as the file has it: `channels.tokens.oauth2_of` fills
    in the provider's endpoints and scope."""

    SCHEMA = CHANNEL_OAUTH2

    provider: str  # microsoft | google | generic
    tenant_id: str | None
    client_id: str
    scope: str | None  # None: the provider's default
    token_endpoint: str | None  # None: the provider's
    device_endpoint: str | None  # None: the provider's


@dataclass(frozen=True)
class OAuth2Config(Table):
    """A side's own `[….oauth2]` table, used instead of the channel's `[oauth2]`."""

    SCHEMA = OAUTH2

    client_id: str
    token_url: str
    device_url: str | None
    scope: str


@dataclass(frozen=True)
class ConnectionConfig(Table):
    """What both sides share: the server, how to talk TLS to it, and how to sign in."""

    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str
    auth: str  # password | oauth2
    allow_self_signed: bool
    allow_insecure: bool
    tls_ca_file: str | None
    timeout: float
    password_command: tuple[str, ...] | None
    oauth2: OAuth2Config | None

    @classmethod
    def _values(cls, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The side's values with its OAuth2 table typed and its port known."""
        values = super()._values(stored)
        if values["port"] is None:  # validate fills it in; only a hand-made dict lacks it
            protocol = values.get("protocol", "smtp")
            values["port"] = DEFAULT_PORTS.get((protocol, values["security"]))
        if values["oauth2"] is not None:
            values["oauth2"] = OAuth2Config.from_settings(values["oauth2"])
        return values


@dataclass(frozen=True)
class InboundConfig(ConnectionConfig):
    """The `[inbound]` table: the mailbox mail is read from."""

    SCHEMA = INBOUND

    protocol: str  # imap | pop3
    folders: tuple[str, ...]
    max_age_days: int  # 0: no limit
    sync_start_date: str | None  # ISO date
    max_tries: int
    cool_off_minutes: int
    skip_windows: tuple[str, ...]  # "HH:MM-HH:MM", local time
    poll_interval: float
    idle: bool
    move_on_success: str | None
    move_on_failure: str | None
    delete_after_fetch: bool
    max_message_bytes: int


@dataclass(frozen=True)
class OutboundConfig(ConnectionConfig):
    """The `[outbound]` table: the SMTP server replies leave through."""

    SCHEMA = OUTBOUND

    sender: str = field(metadata={"key": "from"})  # the From header
    reply_to: str | None
    sent_folder: str | None
    max_attachment_bytes: int
    quote_previous: bool
    retry_base_seconds: float
    max_attempts: int
    auto_ack_template: str | None
    auto_ack_per_hour: int
    resolved_template: str | None  # mailed to the customer on resolve (outbound/resolved.py)
    reply_template: str | None  # the layout every agent's reply is put in ($reply_text)


@dataclass(frozen=True)
class ReadingConfig(Table):
    """The `[reading]` table: which mail becomes conversations, and whose it is."""

    SCHEMA = READING

    allowed_domains: tuple[str, ...]  # empty: every domain
    accept_autogenerated: bool
    aliases: tuple[str, ...]
    exclude_subjects: tuple[str, ...]
    exclude_from_domains: tuple[str, ...]
    exclude_from_addresses: tuple[str, ...]
    customer_from: str  # from | reply-to
    authserv_id: str | None


@dataclass(frozen=True)
class FieldMapping:
    """One `[tickets] mappings` entry: which custom field a mail property fills."""

    field: str
    source: str  # subject | body | sender | importance | header
    header: str  # the header's lower-case name, for source "header"
    pattern: str  # "": the property as it is; else its first group (or whole match)
    default: str  # when the mail gives no value ("": none)


@dataclass(frozen=True)
class TicketsConfig(Table):
    """The `[tickets]` table: the types the channel's conversations may have, a new one's
    type, its fields filled from the mail, and the raw mail as an attachment."""

    SCHEMA = TICKETS

    types: tuple[str, ...]  # empty: any type
    default_type: str | None
    mappings: tuple[FieldMapping, ...]
    email_as_attachment: bool

    @classmethod
    def _values(cls, stored: Mapping[str, Any]) -> dict[str, Any]:
        values = super()._values(stored)
        values["mappings"] = tuple(FieldMapping(**m) for m in values["mappings"])
        return values


@dataclass(frozen=True)
class ChannelConfig(Table):
    """One channel's whole configuration; `outbound` is None for a channel that only reads."""

    SCHEMA = TOP

    name: str
    status: str  # draft | active | disabled
    inbound: InboundConfig = field(metadata={"table": True})
    outbound: OutboundConfig | None = field(metadata={"table": True})
    reading: ReadingConfig = field(metadata={"table": True})
    tickets: TicketsConfig = field(metadata={"table": True})
    oauth2: ChannelOAuth2Config | None = field(metadata={"table": True})

    @classmethod
    def of(cls, channel: Channel) -> Self:
        """The configuration a stored channel holds."""
        return cls.from_settings(channel.settings or {})

    @classmethod
    def from_settings(cls, stored: Mapping[str, Any]) -> Self:
        """The configuration in a validated (or stored) channel dict."""
        outbound, oauth2 = stored.get("outbound"), stored.get("oauth2")
        return cls(
            **cls._values(stored),
            inbound=InboundConfig.from_settings(stored.get("inbound") or {}),
            outbound=OutboundConfig.from_settings(outbound) if outbound else None,
            reading=ReadingConfig.from_settings(stored.get("reading") or {}),
            tickets=TicketsConfig.from_settings(stored.get("tickets") or {}),
            oauth2=ChannelOAuth2Config.from_settings(oauth2) if oauth2 else None,
        )

    def side(self, side: str) -> ConnectionConfig | None:
        """The `inbound` or `outbound` table by name (None: the channel has no outbound)."""
        return {"inbound": self.inbound, "outbound": self.outbound}[side]


def schema_key(item: dataclasses.Field[Any]) -> str:
    """The channel file's key that a dataclass field holds."""
    return item.metadata.get("key", item.name)
