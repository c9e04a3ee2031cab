"""One message's links, stored source and HTML part, for the thread's message tools.

Everything here comes from a mail, so it is hostile: links are shown through `one_line`, and
only http, https and mailto links are handed to the system opener (as one argument, never
through a shell); the source is shown through `sanitize.clean`; the HTML part is written to a
private file (0600, in a 0700 directory that goes when the process exits) behind a Content
Security Policy that stops its scripts and remote loads (the desk never loads remote images).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from deskterm import settings
from deskterm.desk import attachments
from deskterm.errors import ConfigError, NotFound
from deskterm.mail.parse import parse
from deskterm.sanitize import clean, one_line
from deskterm.store import blobs
from deskterm.store.models import Message

OPENED_SCHEMES = ("http", "https", "mailto")
MAX_LINKS = 200
MAX_URL_CHARS = 2000
SOURCE_CHARS = 2_000_000  # bytes of a source shown (as many characters at most); a longer
# one is shown cut, with a line that says so

# A link as urlview finds one: a scheme we open, then anything up to a blank, a quote or
# angle bracket (`<https://...>` in plain text), or a control character.
_LINK = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)
_TRAILING = ".,;:!?*"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_OPENERS = {opener: closer for closer, opener in _PAIRS.items()}
_CSP = (
    b'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    b"img-src data:; style-src 'unsafe-inline'\">\n"
)


message_ids = attachments.thread_message_ids  # the thread's order, as its attachments use


def links(text: str, hrefs: Iterable[str] = ()) -> list[str]:
    """The http(s) and mailto links of a text (as urlview finds them), then of `hrefs`, in
    order of appearance, each once."""
    found: list[str] = []
    candidates = (_trimmed(m.group()) for m in _LINK.finditer(text or ""))
    for url in itertools.chain(candidates, (h.strip() for h in hrefs)):
        if url not in found and len(url) <= MAX_URL_CHARS and _openable(url):
            found.append(url)
            if len(found) >= MAX_LINKS:
                break
    return found


def message_links(message_id: int, text: str) -> list[str]:
    """A stored message's links: those in its text, then those of its HTML part's <a href>s
    (the text made from HTML shows a link's words, not where it goes)."""
    return links(text, _hrefs(message_id))


class _HrefParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area") and len(self.hrefs) < MAX_LINKS * 5:
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def _hrefs(message_id: int) -> list[str]:
    html = _html(message_id)
    if html is None:
        return []
    parser = _HrefParser()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def _trimmed(url: str) -> str:
    """Without what is not the link's: from a closing bracket that opens nothing before it
    (`[link=https://x.example]here`), then the sentence's punctuation (a trailing `.` or a
    `)` that closes the text's `(`). Two linear passes, so a run of `)))...` costs its
    length, once."""
    url = url[: _unopened_closer(url)]
    counts = {c: url.count(c) for c in (*_PAIRS, *_PAIRS.values())}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _PAIRS and counts[last] > counts[_PAIRS[last]]:
            counts[last] -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return url[:end]


def _unopened_closer(url: str) -> int:
    """Where the first `)`, `]` or `}` that no bracket in the link opened stands (or the end)."""
    depth = dict.fromkeys(_PAIRS, 0)
    for at, char in enumerate(url):
        if char in _PAIRS:
            if not depth[char]:
                return at
            depth[char] -= 1
        elif char in _OPENERS:
            depth[_OPENERS[char]] += 1
    return len(url)


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


def _openable(url: str) -> bool:
    """An http(s) or mailto link with a host (or address), and no blank or control in it."""
    return _LINK.fullmatch(url) is not None and _opens(url)


def open_link(url: str) -> None:
    """Hand one link to the system opener; anything but http(s)/mailto is refused."""
    if len(url) > MAX_URL_CHARS or not _openable(url):
        raise ConfigError(
            f"deskterm opens only http, https and mailto links, not {one_line(url)!r}."
        )
    attachments.launch(attachments.required_opener(), url)


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
    # Cut before it is decoded and cleaned: a mail with large attachments is megabytes of
    # base64 that would all be decoded and scanned only to be thrown away.
    text = clean(raw[:SOURCE_CHARS].decode("utf-8", errors="replace"))
    if len(raw) > SOURCE_CHARS:
        text += f"\n[… cut: the source is {len(raw):,} bytes]\n"
    return text


def _html(message_id: int) -> str | None:
    """The message's HTML body as the desk's parser reads it (every HTML part, charsets
    repaired, cut at the operator's body limit); None when it has none or no stored source."""
    raw = _raw(message_id)
    if raw is None:
        return None
    max_body_bytes, min_attachment_bytes = settings.current().parse_limits
    return parse(raw, max_body_bytes=max_body_bytes, min_attachment_bytes=min_attachment_bytes).html


def html_part(message_id: int) -> bytes | None:
    """The message's HTML body as UTF-8 bytes behind the Content Security Policy, or None when
    it has none (or no stored source)."""
    html = _html(message_id)
    if html is None:
        return None
    return _CSP + b'<meta charset="utf-8">\n' + html.encode("utf-8", "replace")


def open_html(message_id: int) -> Path:
    """Write the HTML part to a private file and start the system opener (the browser) on it."""
    html = html_part(message_id)
    if html is None:
        raise NotFound("This message has no HTML part.")
    opener = attachments.required_opener()
    path = attachments.private_dir() / "message.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(html)
    attachments.launch(opener, str(path))
    return path
