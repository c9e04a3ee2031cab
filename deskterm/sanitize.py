"""Making mail text safe to show: nothing in an email may reach the terminal raw.

Textual passes ESC through even with markup off, and a terminal acts on C1 controls and bidi
overrides, so every string from a mail goes through here before it is displayed (CLI and UI).
Raw mail stays untouched in storage; this is for display only.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except tab and newline, DEL, C1, and the bidi/format characters that can
# reorder or hide text (U+200E/F, U+202A-U+202E, U+2066-U+2069, U+FEFF); also lone surrogates,
# which is how a server's or a mail's undecodable byte arrives (surrogateescape) and which no
# terminal encoding can print.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
_LINE_BREAKS = re.compile(r"[\r\n\t\u2028\u2029\x85]+")


def clean(text: str) -> str:
    """Multi-line text with every control sequence dropped (tab and newline kept)."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n"))


def one_line(text: str) -> str:
    """A one-line field (subject, name, filename): line breaks folded to a space."""
    return _UNSAFE.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def safe_json(data: Any) -> str:
    """JSON whose strings cannot drive a terminal: C0 is escaped by json, C1/bidi by us."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
