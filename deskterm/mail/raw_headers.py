"""One header of a raw mail, read on demand: what a channel's mapping of a header needs.

The parse keeps only the headers the desk itself acts on (`parse.fields.KEPT_HEADERS`); an
admin may map any other (`X-Order-Id`) to a field, so its value is read from the stored raw
mail, only for the new conversations of channels that map one. Only the header block's first
`MAX_HEAD` bytes are read, and the value is decoded as every header is (encoded words, 8-bit
bytes), on one line, cut at `MAX_VALUE` characters.
"""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32

from deskterm.mail.parse.fields import first, header_lists
from deskterm.mail.parse.headers import header_text, one_line

MAX_HEAD = 256 * 1024
MAX_VALUE = 4096


def header_value(raw: bytes, name: str) -> str:
    """The first `name` header of a raw mail as text ("" when it has none)."""
    head = raw[:MAX_HEAD]
    for blank in (b"\r\n\r\n", b"\n\n"):
        end = head.find(blank)
        if end >= 0:
            head = head[: end + len(blank)]
            break
    message = BytesHeaderParser(policy=compat32).parsebytes(head)
    value = first(header_lists(message), name.lower())
    return one_line(header_text(value, None, name))[:MAX_VALUE]
