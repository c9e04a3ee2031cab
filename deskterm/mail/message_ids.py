"""Message ids: one rule for what counts as a Message-ID, read from mail and written in replies.

Threading matches on ids, and ids from mail are written back into the headers of our replies
(In-Reply-To, References), so the parser and the composer share one syntax check here:
`is_message_id` accepts only what is safe to write, `normalize_message_id` and `id_list` read
ids out of what mailers actually send, and `trim_references` is the one way a chain is shortened.
"""

from __future__ import annotations

import re

from deskterm.mail.comments import strip_comments

MAX_ID_CHARS = 998  # RFC 5322 line limit; a longer "Message-ID" is garbage

_ID_IN_BRACKETS = re.compile(r"<([^<>]{0,4096})>")

# RFC 5322 msg-id: id-left "@" id-right, both dot-atom text (dots placed loosely, as old mailers
# do), the right side also a no-fold-literal. Nothing else: an id is written back into the
# headers of our replies, so whitespace, controls, 8-bit text and quoted strings are refused,
# and so is "=?", which a header parser may decode (into CR/LF: CVE-2024-6923).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]"
MSG_ID = re.compile(rf"<{_ATEXT}+@(?:{_ATEXT}+|\[[!-Z^-~]*\])>", re.ASCII)


def is_message_id(value: str) -> bool:
    """Whether value is one `<id-left@id-right>` that is safe to write into a header."""
    if len(value) > MAX_ID_CHARS + 2 or "=?" in value or MSG_ID.fullmatch(value) is None:
        return False
    left, _, right = value[1:-1].partition("@")
    return bool(left.strip(".") and right.strip("."))


def normalize_message_id(value: str | None) -> str | None:
    """`<local@domain>` from a Message-ID-like value, or None when there is nothing usable.

    Comments and whitespace are dropped (some mailers fold long ids in the middle), and an id
    without angle brackets is accepted when it has an `@`. Case is kept: ids are compared exactly.
    """
    if not value or not isinstance(value, str):
        return None
    text = strip_comments(value[:4096])
    match = _ID_IN_BRACKETS.search(text)
    if match:
        return _clean_id(match.group(1))
    for token in text.split():
        if "@" in token:
            return _clean_id(token)
    return None


def id_list(value: str) -> list[str]:
    """All usable ids in In-Reply-To / References, in order (brackets first, bare ids if none)."""
    ids = [_clean_id(inner) for inner in _ID_IN_BRACKETS.findall(value)]
    if "<" not in value:
        ids = [_clean_id(token) for token in value.replace(",", " ").split() if "@" in token]
    return [i for i in ids if i]


def trim_references(chain: list[str], limit: int) -> list[str]:
    """Each id once, at most `limit`: the thread's root and the newest ids.

    Both are what threading matches on (the root and the closest ancestors), and very long
    headers break some servers.
    """
    unique = list(dict.fromkeys(chain))
    if len(unique) <= limit:
        return unique
    return [unique[0], *unique[-(limit - 1) :]]


def _clean_id(inner: str) -> str | None:
    """`<id>` in msg-id syntax, or None (folding whitespace inside is dropped first)."""
    candidate = "<" + "".join(inner.split()).strip("<>") + ">"
    return candidate if is_message_id(candidate) else None
