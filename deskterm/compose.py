"""Building outgoing mail: a reply that threads everywhere, Outlook included.

Pure functions over plain data, so every header rule is unit-tested without a server.
"""

from __future__ import annotations

import base64
import hashlib
import html
import mimetypes
import os
import re
import secrets
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path

REFERENCES_SENT = 10  # like RT: the root plus the newest ids keep every client threading
_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TOKEN = re.compile(r"\s*\[#\d+\]")

# Windows FILETIME: 100 ns ticks since 1601-01-01.
_EPOCH_DIFF = 116_444_736_000_000_000


@dataclass
class Reply:
    """Everything a reply needs, gathered from the conversation by the outbox."""

    conversation_id: int
    from_header: str  # "Desk Support <support@example.com>"
    to: list[str]
    subject: str  # the conversation's subject as mailed
    body: str
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    thread_index: str | None = None  # the customer's Thread-Index, if they sent one
    quote: str | None = None  # the answered message's text, quoted below the reply
    quote_header: str = ""
    attachments: list[Path] = field(default_factory=list)
    automatic: bool = False  # an auto-acknowledgement, not a human reply
    date: datetime | None = None
    message_id: str | None = None


def base_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes and our [#id] tokens."""
    subject = _TOKEN.sub("", subject)
    return _PREFIX.sub("", subject).strip()


def reply_subject(subject: str, conversation_id: int) -> str:
    """`Re: <subject> [#id]`: one Re:, one token, whatever the thread did to the subject."""
    base = base_subject(subject) or "(no subject)"
    return f"Re: {base} [#{conversation_id}]"


def new_message_id(conversation_id: int, from_header: str) -> str:
    domain = parseaddr(from_header)[1].rpartition("@")[2] or "deskterm.invalid"
    return f"<deskterm.{conversation_id}.{secrets.token_hex(8)}@{domain}>"


def trim_references(chain: list[str], limit: int = REFERENCES_SENT) -> list[str]:
    """Keep the thread's root and the newest ids; very long headers break some servers."""
    unique = list(dict.fromkeys(chain))
    if len(unique) <= limit:
        return unique
    return [unique[0], *unique[-(limit - 1) :]]


def thread_index(parent: str | None, conversation_id: int, now: datetime) -> str:
    """Outlook's Thread-Index: the parent's (or a new header block) plus one child block.

    Format from [MS-OXOMSG] 2.2.1.3 (PidTagConversationIndex): a 22-byte header (reserved
    0x01, 5 bytes of FILETIME, a 16-byte GUID) followed by 5-byte child blocks.
    """
    ticks = int(now.timestamp() * 10_000_000) + _EPOCH_DIFF
    header = _decode_index(parent)
    if header is None:
        guid = hashlib.sha256(f"deskterm-conversation-{conversation_id}".encode()).digest()[:16]
        header = b"\x01" + (ticks >> 16).to_bytes(8, "big")[3:8] + guid
        return base64.b64encode(header).decode()
    start = int.from_bytes(header[1:6], "big") << 16
    delta = max(ticks - start, 0)
    if delta < (1 << 49):
        code, value = 0, (delta >> 18) & 0x7FFFFFFF
    else:
        code, value = 1, (delta >> 23) & 0x7FFFFFFF
    child = struct.pack(">I", (code << 31) | value) + bytes([secrets.randbits(4) << 4])
    return base64.b64encode(header + child).decode()


def _decode_index(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (ValueError, base64.binascii.Error):
        return None
    if len(raw) < 22 or (len(raw) - 22) % 5:
        return None
    return raw


def quoted(text: str, header: str) -> str:
    lines = text.rstrip().splitlines() or [""]
    return f"{header}\n" + "\n".join(f"> {line}" if line else ">" for line in lines)


def text_to_html(body: str, quote: str | None, quote_header: str = "") -> str:
    """Simple HTML for mail clients that prefer it: paragraphs, line breaks, a blockquote."""
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p]
    parts = ["<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs]
    if quote:
        if quote_header:
            parts.append(f"<p>{html.escape(quote_header)}</p>")
        inner = html.escape(quote.rstrip()).replace("\n", "<br>\n")
        parts.append(
            f'<blockquote style="margin:0 0 0 .8ex;border-left:1px solid #ccc;'
            f'padding-left:1ex">{inner}</blockquote>'
        )
    return "<!DOCTYPE html><html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def build(reply: Reply) -> EmailMessage:
    """The reply as it will be sent: UTF-8, encoded words and folding done by the policy."""
    now = reply.date or datetime.now(UTC)
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(reply.from_header)
    message["To"] = [_address(a) for a in reply.to]
    if reply.cc:
        message["Cc"] = [_address(a) for a in reply.cc]
    if reply.reply_to:
        message["Reply-To"] = _address(reply.reply_to)
    message["Subject"] = reply_subject(reply.subject, reply.conversation_id)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = reply.message_id or new_message_id(
        reply.conversation_id, reply.from_header
    )
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
    references = trim_references(reply.references)
    if references:
        message["References"] = " ".join(references)
    message["MIME-Version"] = "1.0"
    message["Thread-Topic"] = base_subject(reply.subject) or "(no subject)"
    message["Thread-Index"] = thread_index(reply.thread_index, reply.conversation_id, now)
    if reply.automatic:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    else:
        message["Auto-Submitted"] = "no"
    quote = quoted(reply.quote, reply.quote_header) if reply.quote else None
    text = reply.body.rstrip() + "\n"
    if quote:
        text += "\n" + quote + "\n"
    message.set_content(text, charset="utf-8")
    message.add_alternative(
        text_to_html(reply.body, reply.quote, reply.quote_header), subtype="html", charset="utf-8"
    )
    for path in reply.attachments:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


def _address(value: str) -> Address:
    """Parse "Name <addr>" into an Address so the policy encodes the name properly."""
    [(name, addr)] = getaddresses([value]) or [("", value)]
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local or addr, domain=domain)


def attachment_total(paths: list[Path]) -> int:
    return sum(os.path.getsize(p) for p in paths)
