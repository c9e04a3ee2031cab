"""Regular expressions from a rule, through the one bounded matcher (deskterm.mail.patterns).

Python's `re` cannot be stopped: `(a+)+$` against a long run of "a" backtracks for ages, and
a mail picks the text. `mail.patterns` bounds every search by time and by the text it reads;
a pattern that would take too long fails that one rule on that one mail (`RuleTimeout`,
recorded on the message) and the batch goes on.
"""

from __future__ import annotations

from deskterm.errors import ConfigError, DeskError
from deskterm.mail import patterns
from deskterm.sanitize import one_line

MAX_INPUT = patterns.MAX_TEXT  # characters of a subject or body a condition looks at
TIMEOUT = patterns.TIMEOUT  # seconds one search may take


class RuleTimeout(DeskError):
    """A rule's regular expression took longer than TIMEOUT on a mail."""


def checked(pattern: str, name: str) -> str:
    """`pattern` when it compiles (case-insensitive, as every text condition), else one
    sentence naming the rule file's key."""
    try:
        patterns.compiled(pattern)
    except ConfigError as exc:
        raise ConfigError(f"{name}: {one_line(str(exc))} Fix the pattern.") from None
    return pattern


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` occurs in the start of `text`; RuleTimeout when it takes too long."""
    try:
        return patterns.occurs(pattern, text)
    except patterns.PatternTimeout:
        raise RuleTimeout(
            f"its regular expression {one_line(pattern)[:80]!r} took longer than "
            f"{TIMEOUT:g} s on this mail"
        ) from None
