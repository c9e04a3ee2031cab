"""What `parse` returns: plain data, decoded and safe to store (not yet to display)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class ParsedAttachment:
    """One attachment, named even when the sender gave no name."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None
    inline: bool


@dataclass
class ParsedMail:
    """What the desk needs from one message; every field is decoded and safe to store."""

    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    from_addr: str
    from_name: str
    to: list[str]
    cc: list[str]
    reply_to: str | None
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: list[ParsedAttachment]
    skipped_attachments: int
    headers: dict[str, str]
    priority: str
    dedup_key: str  # content_key(raw): equal only for the same content
    size: int
    truncated: bool
    defects: list[str]
    remote_images: int
    text_format: str = ""  # "flowed" or "flowed delsp": the text is format=flowed (RFC 3676)
    # The headers the caller asked `parse` for (a channel's header mappings), by lower-case
    # name, "" where the mail has none; a name missing here was not asked for.
    mapped_headers: dict[str, str] = field(default_factory=dict)
