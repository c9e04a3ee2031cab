"""Regular expressions from a rule, bounded in time and input on hostile mail.

Python's `re` cannot be stopped: `(a+)+$` against a long run of "a" backtracks for ages, and
a mail picks the text. The `regex` library checks a timeout while it matches, so a pattern
that would take too long fails that one rule on that one mail (`RuleTimeout`, recorded on the
message) and the batch goes on. Only the first `MAX_INPUT` characters of a subject or body are
searched: a rule is about what a person wrote, not the 10 MB log pasted under it.
"""

from __future__ import annotations

import functools

import regex

from deskterm.errors import ConfigError, DeskError
from deskterm.sanitize import one_line

MAX_INPUT = 64 * 1024  # characters of a subject or body a condition looks at
TIMEOUT = 0.25  # seconds one search may take
MAX_PATTERN = 1000  # characters of a pattern


class RuleTimeout(DeskError):
    """A rule's regular expression took longer than TIMEOUT on a mail."""


def checked(pattern: str, name: str) -> str:
    """`pattern` when it compiles (case-insensitive, as every text condition), else one
    sentence naming the rule file's key."""
    if len(pattern) > MAX_PATTERN:
        raise ConfigError(f"{name} may be at most {MAX_PATTERN} characters long.")
    try:
        _compiled(pattern)
    except regex.error as exc:
        raise ConfigError(
            f"{name} is not a regular expression ({one_line(str(exc))}); fix the pattern."
        ) from None
    return pattern


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` occurs in the start of `text`; RuleTimeout when it takes too long."""
    try:
        return _compiled(pattern).search(text[:MAX_INPUT], timeout=TIMEOUT) is not None
    except TimeoutError:
        raise RuleTimeout(
            f"its regular expression {one_line(pattern)[:80]!r} took longer than "
            f"{TIMEOUT:g} s on this mail"
        ) from None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    # V0: the `re` dialect admins know; IGNORECASE as every text condition.
    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
