"""The checks every key of the channel file goes through: each takes the key (for the
sentence) and the value, and returns the value as stored or raises a ConfigError naming the
key. `Field` ties a check to its default; the tables in channels/config are made of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from deskterm.errors import ConfigError
from deskterm.mail import addresses, patterns
from deskterm.net.oauth2 import check_endpoint

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Field:
    """One key of a table: its check, and its default (None = required when the table exists)."""

    check: Callable[[str, Any], Any]
    default: Any = None
    required: bool = False


def string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, not {kind(value)}.")
    return value


def nonempty(key: str, value: Any) -> str:
    value = string(key, value).strip()
    if not value:
        raise ConfigError(f"{key} must not be empty.")
    return value


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {kind(value)}.")
    return value


def int_range(low: int, high: int) -> Callable[[str, Any], int]:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be a whole number from {low} to {high}.")
        if not low <= value <= high:
            raise ConfigError(f"{key} = {value} is out of range; use {low} to {high}.")
        return value

    return check


def number(low: float, high: float) -> Callable[[str, Any], float]:
    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number of seconds from {low} to {high}.")
        if not low <= value <= high:
            raise ConfigError(f"{key} = {value} is out of range; use {low} to {high}.")
        return float(value)

    return check


def one_of(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(key: str, value: Any) -> str:
        value = string(key, value).strip().lower()
        if value not in choices:
            raise ConfigError(f"{key} = {value!r} is not known; use one of {', '.join(choices)}.")
        return value

    return check


def text_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f'{key} must be a list of non-empty strings, e.g. ["INBOX"].')
    return [v.strip() for v in value]


def lower_list(key: str, value: Any) -> list[str]:
    return [v.lower() for v in text_list(key, value)]


def opt_text(key: str, value: Any) -> str | None:
    value = string(key, value).strip()
    return value or None


def address(key: str, value: Any) -> str:
    value = nonempty(key, value)
    if addresses.parse_one(value) is None:
        raise ConfigError(
            f'{key} = {value!r} is not an email address, e.g. "Support <help@x.com>".'
        )
    return value


def opt_address(key: str, value: Any) -> str | None:
    return address(key, value) if string(key, value).strip() else None


def windows(key: str, value: Any) -> list[str]:
    windows = text_list(key, value)
    for window in windows:
        if not _WINDOW.match(window):
            raise ConfigError(f'{key}: {window!r} is not a time window; write it as "02:00-04:00".')
    return windows


def day(key: str, value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    text = string(key, value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ConfigError(f"{key} = {text!r} is not a date; write it as 2024-01-31.") from None


def command(key: str, value: Any) -> list[str] | None:
    if isinstance(value, str):
        raise ConfigError(
            f'{key} must be a list of arguments, e.g. ["pass", "show", "mail/support"] '
            "(it is run without a shell)."
        )
    return text_list(key, value) or None


def path(key: str, value: Any) -> str | None:
    text = string(key, value).strip()
    if text and not Path(text).expanduser().is_file():
        raise ConfigError(f"{key} = {text!r} is not a readable file.")
    return str(Path(text).expanduser()) if text else None


def endpoint(key: str, value: Any) -> str:
    """An OAuth2 endpoint: https, or http only to this machine (net.oauth2's one rule)."""
    return check_endpoint(nonempty(key, value), key)


def opt_endpoint(key: str, value: Any) -> str | None:
    return endpoint(key, value) if string(key, value).strip() else None


# What a mapping may read from a mail (deskterm.inbound.mappings reads them).
MAPPING_SOURCES = ("subject", "body", "sender", "importance", "header")
_MAPPING_KEYS = {"field", "source", "header", "pattern", "default"}
_WORD = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


def mappings(key: str, value: Any) -> list[dict[str, str]]:
    """Mail properties mapped to custom fields: a list of tables, each with `field` (a field
    name), `source` (MAPPING_SOURCES), `header` (the header's name, for source "header"),
    `pattern` (optional: a regular expression whose first group, or whole match, is the
    value) and `default` (the value when the mail gives none)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(
            f'{key} must be a list of tables, e.g. [{{field = "order", source = "subject", '
            f"pattern = 'Order #(\\d+)'}}]."
        )
    out = []
    for number, item in enumerate(value, 1):
        name = f"{key}[{number}]"
        unknown = sorted(set(item) - _MAPPING_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown key {', '.join(unknown)} in {name}; "
                f"use {', '.join(sorted(_MAPPING_KEYS))}."
            )
        field = nonempty(f"{name}.field", item.get("field", "")).lower()
        if not _WORD.fullmatch(field):
            raise ConfigError(f"{name}.field = {field!r} is not a field name.")
        source = one_of(MAPPING_SOURCES)(f"{name}.source", item.get("source", ""))
        header = string(f"{name}.header", item.get("header", "")).strip().lower()
        if source == "header" and not re.fullmatch(r"[!-9;-~]{1,76}", header):
            raise ConfigError(f'{name}.header must name the header, e.g. "X-Order-Id".')
        pattern = string(f"{name}.pattern", item.get("pattern", ""))
        if pattern:
            try:
                patterns.compiled(pattern)
            except ConfigError as exc:
                raise ConfigError(f"{name}.pattern: {exc}") from None
        default = string(f"{name}.default", item.get("default", "")).strip()
        out.append(
            {
                "field": field,
                "source": source,
                "header": header if source == "header" else "",
                "pattern": pattern,
                "default": default,
            }
        )
    return out


def kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
