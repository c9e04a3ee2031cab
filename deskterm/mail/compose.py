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
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP, SMTPUTF8, Policy, compat32
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from deskterm.errors import DeskError
from deskterm.mail import addresses
from deskterm.mail.message_ids import is_message_id, trim_references
from deskterm.sanitize import one_line

REFERENCES_SENT = 10  # like RT: the root plus the newest ids keep every client threading
SUBJECT_CHARS = 400  # a subject from mail is cut here: a header line must stay under 998 bytes
THREAD_INDEX_BLOCKS = 100  # a longer Thread-Index from mail is not extended but started anew
MAX_LINE = 998  # RFC 5322: no header line longer than this
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
    html: str | None = None  # a template's own HTML part (its values escaped); else made from body
    subject_prefix: str = "Re"  # "Fwd" for a message forwarded (outbound.forward)
    date: datetime | None = None
    message_id: str | None = None


def base_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes and our [#id] tokens."""
    subject = _TOKEN.sub("", subject)
    return _PREFIX.sub("", subject).strip()


def reply_subject(subject: str, conversation_id: int, prefix: str = "Re") -> str:
    """`Re: <subject> [#id]`: one Re: (or Fwd:), one token, whatever the thread did to it."""
    base = base_subject(subject)[:SUBJECT_CHARS] or "(no subject)"
    return f"{prefix}: {base} [#{conversation_id}]"


def new_message_id(conversation_id: int, from_address: str) -> str:
    """A fresh id on our own domain (IDNA, so it is a valid msg-id whatever the domain)."""
    domain = addresses.ascii_domain(from_address.rpartition("@")[2]) or "deskterm.invalid"
    return f"<deskterm.{conversation_id}.{secrets.token_hex(8)}@{domain}>"


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
    if len(raw) < 22 or (len(raw) - 22) % 5 or len(raw) > 22 + 5 * THREAD_INDEX_BLOCKS:
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


class UnsafeReply(DeskError):
    """A reply whose serialized form is not what deskterm built (nothing is queued)."""


def build(reply: Reply) -> EmailMessage:
    """The reply as it will be sent: UTF-8 bodies, headers that deskterm wrote itself.

    No header value goes through the email package's header factory, which decodes RFC 2047
    words in what it is given (and on CPython before 3.11.10 / 3.12.5 writes a decoded CR/LF
    out raw, CVE-2024-6923): each is handed over as a `_Written` header whose wire form was
    computed here from plain text. `check()` then proves the serialized result has exactly
    these headers and this MIME structure.
    """
    now = reply.date or datetime.now(UTC)
    recipients = [_mailbox(a, "To") for a in reply.to] + [_mailbox(a, "Cc") for a in reply.cc]
    utf8 = any(addresses.needs_smtputf8(address) for _, address in recipients)
    message = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    from_name, from_address = _mailbox(reply.from_header, "From")
    message["From"] = _Written.addresses("From", [(from_name, from_address)])
    message["To"] = _Written.addresses("To", recipients[: len(reply.to)])
    if reply.cc:
        message["Cc"] = _Written.addresses("Cc", recipients[len(reply.to) :])
    if reply.reply_to:
        reply_to = _mailbox(reply.reply_to, "Reply-To")
        message["Reply-To"] = _Written.addresses("Reply-To", [reply_to])
    subject = reply_subject(reply.subject, reply.conversation_id, reply.subject_prefix)
    message["Subject"] = _Written.text("Subject", subject)
    message["Date"] = _Written.text("Date", format_datetime(now))
    own_id = reply.message_id or new_message_id(reply.conversation_id, from_address)
    message["Message-ID"] = _Written.ids("Message-ID", [own_id])
    in_reply_to = [i for i in [reply.in_reply_to] if i and is_message_id(i)]
    if in_reply_to:
        message["In-Reply-To"] = _Written.ids("In-Reply-To", in_reply_to)
    references = trim_references([i for i in reply.references if is_message_id(i)], REFERENCES_SENT)
    if references:
        message["References"] = _Written.ids("References", references)
    message["MIME-Version"] = _Written.text("MIME-Version", "1.0")
    message["Thread-Topic"] = _Written.text(
        "Thread-Topic", base_subject(reply.subject)[:SUBJECT_CHARS] or "(no subject)"
    )
    message["Thread-Index"] = _Written.text(
        "Thread-Index", thread_index(reply.thread_index, reply.conversation_id, now)
    )
    if reply.automatic:
        message["Auto-Submitted"] = _Written.text("Auto-Submitted", "auto-replied")
        message["X-Auto-Response-Suppress"] = _Written.text("X-Auto-Response-Suppress", "All")
    else:
        message["Auto-Submitted"] = _Written.text("Auto-Submitted", "no")
    quote = quoted(reply.quote, reply.quote_header) if reply.quote else None
    text = reply.body.rstrip() + "\n"
    if quote:
        text += "\n" + quote + "\n"
    message.set_content(text, charset="utf-8")
    html_part = reply.html or text_to_html(reply.body, reply.quote, reply.quote_header)
    message.add_alternative(html_part, subtype="html", charset="utf-8")
    for path in reply.attachments:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype)
        # The name goes through no header factory either (an agent's file may be named
        # `=?utf-8?b?...?=`): the part's Content-Disposition is written here.
        part = message.get_payload()[-1]
        part.replace_header("Content-Disposition", _Written.attachment(path.name))
    check(message)
    return message


def notice(
    from_header: str, to: tuple[str, str], subject: str, body: str, *, date: datetime | None = None
) -> EmailMessage:
    """A plain-text mail of the desk's own (a system notification, an agent's invitation):
    headers written as a reply's are, never parsed from what an admin or an agent typed (a
    name holding `=?...?=` or a line break stays text), marked automatic so that no
    auto-responder answers it, and checked as a reply is."""
    from_name, from_address = _mailbox(from_header, "From")
    to_name, (_, to_address) = to[0], _mailbox(to[1], "To")  # the name is text, never parsed
    utf8 = addresses.needs_smtputf8(to_address) or addresses.needs_smtputf8(from_address)
    message = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    message["From"] = _Written.addresses("From", [(from_name, from_address)])
    message["To"] = _Written.addresses("To", [(to_name, to_address)])
    message["Subject"] = _Written.text("Subject", subject[:SUBJECT_CHARS])
    message["Date"] = _Written.text("Date", format_datetime(date or datetime.now(UTC)))
    domain = addresses.ascii_domain(from_address.rpartition("@")[2]) or "deskterm.invalid"
    own_id = f"<deskterm-notice.{secrets.token_hex(8)}@{domain}>"
    message["Message-ID"] = _Written.ids("Message-ID", [own_id])
    message["MIME-Version"] = _Written.text("MIME-Version", "1.0")
    message["Auto-Submitted"] = _Written.text("Auto-Submitted", "auto-generated")
    message["X-Auto-Response-Suppress"] = _Written.text("X-Auto-Response-Suppress", "All")
    message.set_content(body.rstrip() + "\n", charset="utf-8")
    check(message)
    return message


def check(message: EmailMessage) -> bytes:
    """The message's bytes, once proven to hold exactly the headers and parts it was built with.

    The last line of defence: whatever a header value held, the serialized header block must
    list the same header names in the same order, with no stray CR or LF, and the bytes must
    parse back to the same MIME structure (an injected blank line or Content-Type would change
    both). Raises UnsafeReply otherwise.
    """
    raw = bytes(message)
    head, _, _ = raw.partition(b"\r\n\r\n")
    names: list[str] = []
    problem = b"\r" in head.replace(b"\r\n", b"") or b"\n" in head.replace(b"\r\n", b"")
    for line in head.split(b"\r\n"):
        if len(line) > MAX_LINE:
            problem = True
        if line[:1] in (b" ", b"\t") and names:
            continue
        name, colon, _ = line.partition(b":")
        if not colon or _FIELD_NAME.fullmatch(name) is None:
            problem = True
            break
        names.append(name.decode("ascii").lower())
    problem = problem or names != [name.lower() for name in message]
    if not problem:
        # Every part as well: the same header names and type, and each attachment's name
        # as meant (a blank line smuggled into a part's headers would change them).
        reread = list(BytesParser(policy=compat32).parsebytes(raw).walk())
        built = list(message.walk())
        problem = len(reread) != len(built) or any(
            [k.lower() for k in again] != [k.lower() for k in part]
            or again.get_content_type() != part.get_content_type()
            or again.get_filename() != part.get_filename()
            for again, part in zip(reread, built, strict=False)
        )
        problem = problem or any(
            " ".join(str(reread[0][name]).split()) != str(message[name])
            for name in ("Message-ID", "In-Reply-To", "References")
            if name in message
        )
    if problem:
        raise UnsafeReply(
            "The reply was not queued: its headers did not come out as deskterm wrote them, "
            "which a hostile value in the conversation can cause; answer from a new conversation "
            "and report this (see README, Security)."
        )
    return raw


_FIELD_NAME = re.compile(rb"[!-9;-~]+")


class _Written(str):
    """A header whose wire form deskterm computed itself.

    `EmailPolicy.header_store_parse` keeps a value that has a matching `name` as it is, and
    `fold` is asked for its wire form: so the header factory never parses (or decodes) it.
    The string value is the plain text, as `message[name]` shows it.
    """

    name: str
    wire: str

    @classmethod
    def text(cls, name: str, value: str) -> _Written:
        """An unstructured header (Subject, Thread-Topic...) from one line of plain text.

        ASCII without "=?" is written as it is; anything else as UTF-8 encoded words, which
        readers decode back to exactly this text (a literal "=?...?=" stays literal).
        """
        value = one_line(value)
        charset = "us-ascii" if value.isascii() and "=?" not in value else "utf-8"
        wire = Header(value, charset, header_name=name).encode(linesep="\r\n")
        return cls._made(name, value, wire)

    @classmethod
    def attachment(cls, filename: str) -> _Written:
        """`attachment; filename=...` from a file name: plain ASCII quoted, anything else as
        RFC 2231 UTF-8 (which readers decode to exactly this name, and nothing parses)."""
        name = one_line(filename)[:200] or "attachment"
        if _PLAIN_FILENAME.fullmatch(name) and "=?" not in name:
            wire = f'attachment; filename="{name}"'
        else:
            wire = f"attachment; filename*=utf-8''{quote(name, safe='')}"
        return cls._made("Content-Disposition", wire, wire)

    @classmethod
    def addresses(cls, name: str, mailboxes: list[tuple[str, str]]) -> _Written:
        forms = [addresses.header_form(n, a) for n, a in mailboxes]
        shown = ", ".join(f"{n} <{a}>" if n else a for n, a in mailboxes)
        return cls._made(name, shown, ",\r\n ".join(forms))

    @classmethod
    def ids(cls, name: str, ids: list[str]) -> _Written:
        if not ids or not all(is_message_id(i) for i in ids):
            raise ValueError(f"{name} needs message ids in <left@right> form")
        return cls._made(name, " ".join(ids), "\r\n ".join(ids))

    @classmethod
    def _made(cls, name: str, value: str, wire: str) -> _Written:
        header = cls(value)
        header.name, header.wire = name, wire
        return header

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self.wire}{policy.linesep}"


_PLAIN_FILENAME = re.compile(r"[A-Za-z0-9 !#$%&'()*+,./:;<=>?@^_`{|}~-]{1,200}")


def _mailbox(value: str, field: str) -> tuple[str, str]:
    """(name, address) of one valid mailbox, or UnsafeReply naming the field."""
    parsed = addresses.parse_one(value)
    if parsed is None:
        raise UnsafeReply(f"{value!r} in {field} is not one email address; fix the address.")
    return parsed


def attachment_total(paths: list[Path]) -> int:
    return sum(os.path.getsize(p) for p in paths)
