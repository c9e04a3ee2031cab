"""Regular expressions an admin writes, run over hostile mail with a bound on their cost.

Python's `re` has no timeout, and a pattern such as `(x+x+)+y` takes exponential time on a
subject a stranger chose: one mail would then stop its channel's batch, at every poll. The
`regex` library takes a timeout per call, so each search here is bounded twice: by the text
it may read (`MAX_TEXT`: the first 64 KB of a body is where an order number lives) and by the
time it may take (`TIMEOUT`). Measured on the 2-core machine class: `(x+x+)+y` over 30,000
characters stops after 0.05 s, where `re` ran for minutes; ordinary patterns over a 64 KB body
take well under a millisecond, so the bound is never met by a pattern meant for mail.

The one place an admin's pattern is compiled (`compiled`, which also checks it) and run
(`first_match`, `occurs`): channel mappings and routing rules use it.
"""

from __future__ import annotations

import functools

import regex

from deskterm.errors import ConfigError

MAX_PATTERN = 500  # characters of a pattern
MAX_TEXT = 64 * 1024  # characters of text a pattern reads
TIMEOUT = 0.05  # seconds one search may take
MAX_RESULT = 500  # characters of a match kept


class PatternTimeout(Exception):
    """A pattern took longer than TIMEOUT on some text (catastrophic backtracking)."""


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> regex.Pattern[str]:
    """The pattern compiled (case-insensitive, as mail is written in any case), or a
    ConfigError saying what is wrong with it."""
    if len(pattern) > MAX_PATTERN:
        raise ConfigError(f"a pattern may be at most {MAX_PATTERN} characters long.")
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    except regex.error as exc:
        raise ConfigError(
            f"the pattern {pattern!r} is not a valid regular expression: {exc}."
        ) from None


def occurs(pattern: str, text: str) -> bool:
    """Whether `pattern` occurs in the start of `text`; PatternTimeout past TIMEOUT."""
    try:
        return compiled(pattern).search(text[:MAX_TEXT], timeout=TIMEOUT) is not None
    except TimeoutError:
        raise PatternTimeout(f"the pattern {pattern!r} took too long on this mail") from None


def first_match(pattern: str, text: str) -> str | None:
    """What `pattern` finds first in the start of `text`: its first group when it has groups
    (None when that group took no part), else the whole match; None when nothing matches.
    Raises PatternTimeout when the search ran past TIMEOUT."""
    found = compiled(pattern)
    try:
        match = found.search(text[:MAX_TEXT], timeout=TIMEOUT)
    except TimeoutError:
        raise PatternTimeout(f"the pattern {pattern!r} took too long on this mail") from None
    if match is None:
        return None
    value = match.group(1) if found.groups else match.group(0)
    return None if value is None else value[:MAX_RESULT]
