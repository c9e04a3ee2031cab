"""Every attachment gets a name, even when the sender gave none, and no two share one.

A name is one line with no directory part and no invisible characters; saving it safely on a
filesystem is the storage's job.
"""

from __future__ import annotations

import mimetypes
import os
import re
from urllib.parse import unquote

from deskterm import sanitize
from deskterm.mail.parse.context import Attachment
from deskterm.mail.parse.headers import one_line
from deskterm.mail.parse.limits import MAX_NAME_CHARS
from deskterm.mail.parse.parsed import ParsedAttachment

_CID_REF = re.compile(r"""cid:([^"'\s<>)]+)""", re.I)

_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "application/octet-stream": ".bin",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "application/ms-tnef": ".dat",
}


def _extension(ctype: str) -> str:
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    try:
        guessed = mimetypes.guess_extension(ctype, strict=False)
    except Exception:
        guessed = None
    return guessed or (".txt" if ctype.startswith("text/") else ".bin")


def _clean_name(name: str) -> str:
    """One line, no directory part, bounded length; filesystem safety is the storage's job.

    Invisible characters are dropped here already (sanitize.one_line: format, tag and filler
    characters): the name is stored, listed and searched, and `invoice.pdf` followed by forty
    Hangul fillers and `.desktop` must read as the `.desktop` file it is everywhere.
    """
    name = one_line(sanitize.one_line(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if len(name) > MAX_NAME_CHARS:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: MAX_NAME_CHARS - len(ext)] + ext
    return name


def _fallback_name(att: Attachment, index: int) -> str:
    """Content-Location, then Content-ID, then a name made from the MIME type (FACTS.md)."""
    ext = _extension(att.content_type)
    if att.location:
        path = att.location.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        name = _clean_name(unquote(path.rsplit("/", 1)[-1]))
        if name:
            return name
    if att.content_id:
        name = _clean_name(att.content_id.split("@", 1)[0]) or _clean_name(att.content_id)
        if name:
            return name if mimetypes.guess_type(name, strict=False)[0] else name + ext
    if att.content_type in ("message/rfc822", "message/global"):
        return f"message-{index}.eml"
    return f"attachment-{index}{ext}"


def name_attachments(found: list[Attachment], html: str) -> list[ParsedAttachment]:
    referenced = {unquote(ref).strip("<>").lower() for ref in _CID_REF.findall(html)}
    taken: set[str] = set()
    result = []
    for index, att in enumerate(found, 1):
        name = _clean_name(att.name) or _fallback_name(att, index)
        name = _unique_name(name, taken)
        inline = att.content_id is not None and att.content_id.lower() in referenced
        result.append(ParsedAttachment(name, att.content_type, att.data, att.content_id, inline))
    return result


def _unique_name(name: str, taken: set[str]) -> str:
    candidate = name
    stem, ext = os.path.splitext(name)
    number = 2
    while candidate.lower() in taken:
        candidate = f"{stem} ({number}){ext}"
        number += 1
    taken.add(candidate.lower())
    return candidate
