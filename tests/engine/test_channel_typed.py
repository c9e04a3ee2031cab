"""channels/typed.py: a channel's stored settings read back as typed values, each default once."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from deskterm.channels import config as schema
from deskterm.channels.config import parse_channel_text
from deskterm.channels.typed import (
    ChannelConfig,
    ChannelOAuth2Config,
    InboundConfig,
    OAuth2Config,
    OutboundConfig,
    ReadingConfig,
    Table,
    schema_key,
)

pytestmark = pytest.mark.without_database

FILE = """
name = "support"
status = "active"
[inbound]
host = "imap.example.com"
username = "support@example.com"
folders = ["INBOX", "Support"]
skip_windows = ["02:00-04:00"]
[inbound.oauth2]
client_id = "desk"
token_url = "https://login.example.com/token"
[outbound]
host = "smtp.example.com"
username = "support@example.com"
from = "Support <support@example.com>"
[reading]
aliases = ["Help@Example.com"]
customer_from = "reply-to"
"""

TABLES = [
    (InboundConfig, schema.INBOUND),
    (OutboundConfig, schema.OUTBOUND),
    (ReadingConfig, schema.READING),
    (OAuth2Config, schema.OAUTH2),
    (ChannelOAuth2Config, schema.CHANNEL_OAUTH2),
]


@pytest.mark.parametrize(("typed", "spec"), TABLES)
def test_every_key_of_the_file_is_a_field_and_every_field_a_key(
    typed: type[Table], spec: dict[str, Any]
) -> None:
    assert typed.SCHEMA is spec
    assert {schema_key(f) for f in dataclasses.fields(typed)} == set(spec)


def test_the_whole_channel_is_its_top_keys_and_its_tables() -> None:
    assert ChannelConfig.SCHEMA is schema.TOP
    keys = {schema_key(f) for f in dataclasses.fields(ChannelConfig)}
    assert keys == {*schema.TOP, *schema.TABLES}


def test_a_validated_channel_reads_back_typed() -> None:
    config = ChannelConfig.from_settings(parse_channel_text(FILE))
    assert (config.name, config.status) == ("support", "active")
    assert config.inbound.folders == ("INBOX", "Support")
    assert config.inbound.port == 993  # the file schema's default port for IMAP over TLS
    assert config.inbound.skip_windows == ("02:00-04:00",)
    assert config.inbound.oauth2 == OAuth2Config(
        "desk", "https://login.example.com/token", None, ""
    )
    assert config.outbound is not None
    assert config.outbound.sender == "Support <support@example.com>"
    assert config.outbound.port == 587
    assert config.reading.aliases == ("help@example.com",)
    assert config.reading.customer_from == "reply-to"
    assert config.side("outbound") is config.outbound
    assert config.oauth2 is None


def test_the_channels_oauth2_table_reads_back_typed() -> None:
    text = FILE.replace("[reading]", '[oauth2]\nprovider = "google"\nclient_id = "desk"\n[reading]')
    config = ChannelConfig.from_settings(parse_channel_text(text))
    assert config.oauth2 == ChannelOAuth2Config("google", None, "desk", None, None, None)


def test_a_channel_that_only_reads_has_no_outbound() -> None:
    stored = parse_channel_text(FILE.partition("[outbound]")[0])
    config = ChannelConfig.from_settings(stored)
    assert config.outbound is None and config.side("outbound") is None


@pytest.mark.parametrize(("typed", "spec"), TABLES[:3])
def test_a_dict_stored_before_a_key_existed_reads_the_schemas_default(
    typed: type[Table], spec: dict[str, Any]
) -> None:
    """An older desk's stored settings lack the keys added since: each reads its default from
    the file schema, the one place it is written."""
    read = typed.from_settings({"host": "mail.example.com", "username": "a@example.com"})
    for item in dataclasses.fields(typed):
        key = schema_key(item)
        if key in ("host", "username", "port", "from"):
            continue
        default = spec[key].default
        expected = tuple(default) if isinstance(default, list) else default
        assert getattr(read, item.name) == expected, key


def test_an_older_stored_channel_is_read_without_its_newer_keys() -> None:
    stored = parse_channel_text(FILE)
    for key in ("idle", "poll_interval", "max_message_bytes", "skip_windows"):
        del stored["inbound"][key]
    del stored["outbound"]["auto_ack_per_hour"]
    del stored["reading"]
    config = ChannelConfig.from_settings(stored)
    assert config.inbound.idle is True
    assert config.inbound.poll_interval == schema.INBOUND["poll_interval"].default
    assert config.inbound.skip_windows == ()
    assert config.outbound is not None and config.outbound.auto_ack_per_hour == 3
    assert config.reading == ReadingConfig.from_settings({})


def test_equal_settings_are_equal_values() -> None:
    """The IDLE watchers compare a channel's inbound settings to notice an edit."""
    first = ChannelConfig.from_settings(parse_channel_text(FILE))
    again = ChannelConfig.from_settings(parse_channel_text(FILE))
    assert first == again and hash(first.inbound) == hash(again.inbound)
    edited = ChannelConfig.from_settings(parse_channel_text(FILE.replace('"Support"', '"Help"')))
    assert edited.inbound != first.inbound
