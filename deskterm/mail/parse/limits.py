"""The parser's bounds: what one mail may cost, and the two an operator may tune.

Every bound is here so the whole budget of one hostile message reads in one place: whatever a
mail holds, parsing it costs no more than parsing a normal one.
"""

from __future__ import annotations

import os

from deskterm.errors import ConfigError

DEFAULT_MAX_BODY_BYTES = 100_000
DEFAULT_MIN_ATTACHMENT_BYTES = 1024
MAX_BODY_ENV = "DESKTERM_MAX_BODY_BYTES"
MIN_ATTACHMENT_ENV = "DESKTERM_MIN_ATTACHMENT_BYTES"

# Bounds that keep one hostile message from costing more than a normal one.
MAX_DEPTH = 32  # MIME nesting we follow; deeper parts are ignored
MAX_PARTS = 1000  # MIME parts we look at per message
MAX_REFERENCES = 100  # ids kept from References: the thread root plus the most recent ones
MAX_ADDRESSES = 1000  # per address header
MAX_DEFECTS = 50
MAX_HEADER_CHARS = 64_000  # a header value longer than this is cut before decoding
MAX_NAME_CHARS = 200  # attachment names


def env_limits() -> tuple[int, int]:
    """(max_body_bytes, min_attachment_bytes) from the environment, so operators can tune sync."""
    return (
        _env_int(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES, minimum=1),
        _env_int(MIN_ATTACHMENT_ENV, DEFAULT_MIN_ATTACHMENT_BYTES, minimum=0),
    )


def _env_int(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of bytes, not {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    return value
