"""RFC 5322 comments in a header value: `(...)`, nested, which no header reader here acts on.

One stripper for every reader (Message-IDs, Auto-Submitted, Authentication-Results), so a
comment nested in any of them reads the same way everywhere.
"""

from __future__ import annotations

import re

MAX_NESTING = 20  # levels taken off; deeper ones stay as text (a value is short: see callers)

_COMMENT = re.compile(r"\([^()]*\)")


def strip_comments(text: str) -> str:
    """`text` with each comment, nested ones included, made one space."""
    for _ in range(MAX_NESTING):  # nested comments come off one level per pass
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text
