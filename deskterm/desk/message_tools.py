"""One message's links, stored source and HTML part, for the thread's message tools.

Everything here comes from a mail, so it is hostile: links are shown through `one_line`, and
only http, https and mailto links are handed to the system opener (as one argument, never
through a shell); the source is shown through `sanitize.clean`; the HTML part is written to a
private file (0600, in a 0700 directory that goes when the process exits) behind a Content
Security Policy that stops its scripts and remote loads (the desk never loads remote images).
"""

from __future__ import annotations

import os
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from deskterm.desk import attachments
from deskterm.errors import ConfigError, NotFound
from deskterm.sanitize import clean, one_line
from deskterm.store import blobs
from deskterm.store.models import Message

OPENED_SCHEMES = ("http", "https", "mailto")
MAX_LINKS = 200
MAX_URL_CHARS = 2000
SOURCE_CHARS = 2_000_000  # a longer source is shown cut, with a line that says so
NO_OPENER = "There is no system opener (xdg-open or open) on this computer."

# A link as urlview finds one: a scheme we open, then anything up to a blank, a quote or
# angle bracket (`<https://...>` in plain text), or a control character.
_LINK = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)
_TRAILING = ".,;:!?*"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_CSP = (
    b'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    b"img-src data:; style-src 'unsafe-inline'\">\n"
)


def message_ids(conversation_id: int) -> list[int]:
    """The conversation's message ids in the order the thread shows them (arrival)."""
    return [
        m
        for (m,) in Message.select(Message.id)
        .where(Message.conversation == conversation_id)
        .order_by(Message.id)
        .tuples()
    ]


def links(text: str) -> list[str]:
    """The message's http(s) and mailto links, in order of appearance, each once."""
    found: list[str] = []
    for match in _LINK.finditer(text or ""):
        url = _trimmed(match.group())
        if url not in found and len(url) <= MAX_URL_CHARS and _opens(url):
            found.append(url)
        if len(found) >= MAX_LINKS:
            break
    return found


def _trimmed(url: str) -> str:
    """Without the sentence's punctuation: a trailing `.` or a `)` that closes the text's `(`."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _PAIRS and url.count(last) > url.count(_PAIRS[last])):
            url = url[:-1]
        else:
            break
    return url


def _opens(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in OPENED_SCHEMES:
        return False
    if parts.scheme.lower() == "mailto":
        return bool(parts.path)
    return bool(parts.hostname)


def open_link(url: str) -> None:
    """Hand one link to the system opener; anything but http(s)/mailto is refused."""
    if (
        len(url) > MAX_URL_CHARS
        or not _opens(url)
        or _LINK.fullmatch(url) is None
        or url.startswith("-")
    ):
        raise ConfigError(
            f"deskterm opens only http, https and mailto links, not {one_line(url)!r}."
        )
    attachments.launch(_opener(), url)


def _opener() -> str:
    opener = attachments.system_opener()
    if opener is None:
        raise ConfigError(NO_OPENER)
    return opener


def _raw(message_id: int) -> bytes | None:
    message = Message.get_or_none(Message.id == message_id)
    if message is None:
        raise NotFound(f"There is no message {message_id}.")
    if not message.raw_path:
        return None
    try:
        return blobs.read_raw(message.raw_path)
    except (OSError, ValueError):
        return None


def source(message_id: int) -> str | None:
    """The message as stored (its headers and MIME parts), safe to show; None if not kept."""
    raw = _raw(message_id)
    if raw is None:
        return None
    text = clean(raw.decode("utf-8", errors="replace"))
    if len(text) > SOURCE_CHARS:
        text = text[:SOURCE_CHARS] + f"\n[… cut: the source is {len(raw):,} bytes]\n"
    return text


def html_part(message_id: int) -> bytes | None:
    """The message's HTML body as its bytes, or None when it has none (or no stored source)."""
    raw = _raw(message_id)
    if raw is None:
        return None
    mail = message_from_bytes(raw, policy=policy.default)
    if not isinstance(mail, EmailMessage):
        return None
    part = mail.get_body(preferencelist=("html",))
    if part is None or part.get_content_type() != "text/html":
        return None
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    charset = re.sub(r"[^A-Za-z0-9_.:-]", "", part.get_content_charset() or "")[:40]
    head = f'<meta charset="{charset}">\n'.encode() if charset else b""
    return _CSP + head + payload


def open_html(message_id: int) -> Path:
    """Write the HTML part to a private file and start the system opener (the browser) on it."""
    html = html_part(message_id)
    if html is None:
        raise NotFound("This message has no HTML part.")
    opener = _opener()
    path = attachments.private_dir() / "message.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(html)
    attachments.launch(opener, str(path))
    return path
