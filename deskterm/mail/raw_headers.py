"""One header of a stored raw mail, read on demand: the fallback of a channel's header mapping.

The parse keeps the headers the desk itself acts on (`parse.fields.KEPT_HEADERS`) and, when
asked, those a channel's mappings name (`ParsedMail.mapped_headers`, which the sync asks for
in its pool workers). Mail parsed without the name (parsed before the mapping was saved, or by
a caller that did not ask) has its value read here from the stored raw mail instead. Only the
header block's first `MAX_HEAD` bytes are read, and the value is read the one way a mapped
header is (`parse.fields.header_value`: decoded, on one line, cut).
"""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32

from deskterm.mail.parse.fields import header_lists
from deskterm.mail.parse.fields import header_value as value_of

MAX_HEAD = 256 * 1024


def header_value(raw: bytes, name: str) -> str:
    """The first `name` header of a raw mail as text ("" when it has none)."""
    head = raw[:MAX_HEAD]
    for blank in (b"\r\n\r\n", b"\n\n"):
        end = head.find(blank)
        if end >= 0:
            head = head[: end + len(blank)]
            break
    message = BytesHeaderParser(policy=compat32).parsebytes(head)
    return value_of(header_lists(message), name)
