"""The dedup key: which mails are the same mail, decided from the raw bytes alone."""

from __future__ import annotations

import hashlib

# What makes two mails the same mail: these headers' values and the whole body, every part and
# attachment included. Trace headers (Received, Delivered-To, Return-Path...) are left out, so
# one mail delivered twice, or fetched from two folders, is one mail.
_KEY_HEADERS = (b"message-id", b"from", b"to", b"cc", b"subject", b"date", b"content-type")


def content_key(raw: bytes) -> str:
    """The dedup key: a SHA-256 over the raw mail's own headers and its whole body.

    Computed from the bytes, not from what the parser made of them, so a mail is a duplicate
    only when its content is the same as another's (issue 11: a key over a text preview merged
    a scanner's three same-second mails with different PDFs, and a digest without headers
    with a header-only mail), and a better parser never changes which mails are the same.
    Line endings are normalised (IMAP and POP3 say CRLF, files often LF).
    """
    data = raw.replace(b"\r\n", b"\n")
    if data.startswith(b"\n"):  # no headers at all
        head, body = b"", data[1:]
    else:
        head, _, body = data.partition(b"\n\n")  # no blank line: only headers
    found: dict[bytes, list[bytes]] = {}
    current: list[bytes] | None = None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        current = found.setdefault(key, []) if colon and key in _KEY_HEADERS else None
        if current is not None:
            current.append(b"\x00" + value)  # a new value, not a continuation
    digest = hashlib.sha256()
    for name in _KEY_HEADERS:
        values = b"".join(found.get(name, [])).split(b"\x00")[1:]
        for value in values:
            digest.update(name + b": " + b" ".join(value.split()) + b"\n")
    digest.update(b"\n")
    digest.update(body.rstrip())
    return digest.hexdigest()
