"""Making mail text safe to show: nothing in an email may reach the terminal raw.

Textual passes ESC through even with markup off, and a terminal acts on C1 controls and bidi
overrides, so every string from a mail goes through here before it is displayed (CLI and UI).
Raw mail stays untouched in storage; this is for display only.

What is dropped, and why (issue 10, finding 14):
- C0 controls except tab and newline, DEL, C1: a terminal acts on them.
- Every format character (Unicode category Cf): bidi marks and overrides reorder text, and the
  zero-width ones (U+200B, U+2060, U+FEFF, soft hyphen, U+061C, ...) make two strings that look
  the same differ, or hide text. The one exception is the zero-width joiner between two emoji
  (family, rainbow flag, "heart on fire"), without which an emoji sequence falls apart into its
  pieces; a ZWJ anywhere else is dropped. Persian and Indic text loses its ZWNJ, which only
  changes how two letters join, never what they say.
- Tag characters (U+E0000-U+E007F, also Cf): invisible ASCII that carries hidden text. The
  three subdivision flags (England, Scotland, Wales) are built from them; they show as a black
  flag instead, which is visible and harmless.
- The Hangul fillers U+115F, U+1160, U+3164 and U+FFA0: letters that draw nothing, used for
  blank sender names and to push a `.desktop` off the end of an attachment name. No modern
  Korean text uses them on their own (the conjoining fillers appear only in archaic jamo).
- Runs of two or more variation selectors: one selector after a character picks its glyph
  (text or emoji style, an ideographic variant), and no valid sequence has two in a row, while
  long runs of them smuggle invisible bytes. A single selector is kept.
- Lone surrogates, which is how an undecodable byte arrives (surrogateescape) and which no
  terminal encoding can print.
U+2028 and U+2029 (line and paragraph separator) are line breaks: `clean` makes them newlines,
`one_line` folds them to a space like any other break. The braille blank U+2800 is left to
braille text (it is a blank, not an invisible character); filenames fold it with whitespace.

How wide text is on a terminal (`cells`, `fit_cells`) is here too, below the UI: the engine's
text (mail re-flowed, the report's tables) is measured in cells without Rich, which the engine
may not import; the UI measures with Rich's own (widgets/list_columns.fit).

Speed: `clean` runs on every string shown, so it stays one compiled regex that starts with one
character class (the regex engine's charset fast path skips everything else); see _DROPPED.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Every Cf character of Unicode 14 (Python 3.11's unicodedata) but U+200D, as ranges, split at
# the BMP: see _DROPPED. tests/test_sanitize.py checks these against the running unicodedata,
# so a newer Unicode that adds format characters fails loudly.
_FORMAT_BMP = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
_FORMAT_ASTRAL = (
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0080-\U000e00ff\U000e01f0-\U000e0fff"
)
_FILLERS = "\u115f\u1160\u3164\uffa0"
# The rest of Unicode's Default_Ignorable_Code_Point that is not Cf: the combining grapheme
# joiner, Khmer's inherent vowels, Mongolian's free variation selectors, the reserved
# U+FFF0-U+FFF8 (and, astral, the unassigned rest of the tag block): all draw nothing.
_IGNORABLE = "\u034f\u17b4\u17b5\u180b-\u180d\u180f\ufff0-\ufff8"
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_ALWAYS = f"{_CONTROLS}{_FORMAT_BMP}{_FILLERS}{_IGNORABLE}{_SURROGATES}"
# Characters a ZWJ may join: pictographs, symbols and dingbats, and the emoji-style variation
# selector that often ends the first half (U+2764 U+FE0F U+200D U+1F525).
_EMOJI = "\u00a9\u00ae\u203c-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"

# One character class first, so the regex engine skips from candidate to candidate with its
# charset fast path: every BMP character to drop, ZWJ, the BMP selectors, and all of the
# astral planes as one range (each further astral range costs plain text more: the exact
# seven ranges made `clean` four times slower, two twice). The lookbehinds then decide on the
# one character matched: always dropped, an astral format character, a selector in a run, or a
# ZWJ not between emoji. Measured against the old single class: plain text +15%, a subject
# +0.15 us, text dense with emoji (every one enters the lookbehinds) about 0.1 us per emoji.
_DROPPED = (
    f"[{_ALWAYS}\u200d\ufe00-\ufe0f\U00010000-\U0010ffff]"
    f"(?:(?<=[{_ALWAYS}])|(?<=[{_FORMAT_ASTRAL}])"
    f"|(?<=[{_SELECTORS}])(?:(?<=[{_SELECTORS}][{_SELECTORS}])|(?=[{_SELECTORS}]))"
    f"|(?<=\u200d)(?:(?<![{_EMOJI}\ufe0f]\u200d)|(?![{_EMOJI}])))"
)
_UNSAFE = re.compile(_DROPPED)
_JSON_UNSAFE = re.compile(f"{_DROPPED}|[\u2028\u2029]")
_LINE_BREAKS = re.compile(r"[\r\n\t\u2028\u2029\x85]+")


def _drop(text: str) -> str:
    """Everything _DROPPED matches; once more when something went, since what went may have
    separated a run of variation selectors (selector, CGJ, selector, ...)."""
    dropped = _UNSAFE.sub("", text)
    return dropped if len(dropped) == len(text) else _UNSAFE.sub("", dropped)


def clean(text: str) -> str:
    """Multi-line text with every control sequence dropped (tab and newline kept)."""
    text = _drop(text.replace("\r\n", "\n"))
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return text


def one_line(text: str) -> str:
    """A one-line field (subject, name, filename): line breaks folded to a space."""
    return _drop(_LINE_BREAKS.sub(" ", text)).strip()


def safe_json(data: Any) -> str:
    """JSON whose strings cannot drive a terminal: C0 is escaped by json, the rest by us
    (escaped, not dropped: JSON output is for reading what is really there)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    return "".join(
        f"\\u{code:04x}" if code <= 0xFFFF else "\\u{:04x}\\u{:04x}".format(*_pair(code))
        for code in map(ord, match.group())
    )


def _pair(code: int) -> tuple[int, int]:
    """The UTF-16 surrogate pair JSON writes for a character beyond the BMP."""
    code -= 0x10000
    return 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)


def safe_toml_string(text: str) -> str:
    """A TOML basic string whose characters cannot drive a terminal (the desk's rule editor
    shows rule files it wrote): C0 is escaped by json, whose escapes TOML shares, and what
    `clean` would drop by us, as TOML writes it (escaped, not dropped: the rule keeps it)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _JSON_UNSAFE.sub(
        lambda match: "".join(
            f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
            for code in map(ord, match.group())
        ),
        quoted,
    )


def cells(text: str) -> int:
    """Terminal cells of `text`: wide (CJK) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def fit_cells(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded with spaces, or cut where the next character
    would not fit and ended with "…" (a wide character that would straddle the edge goes
    whole, its cell padded). A column of the engine's text tables: a name cut by characters
    runs past its column when its characters are wide."""
    if width <= 0:
        return ""
    size = cells(text)
    if size <= width:
        return text + " " * (width - size)
    kept, used = [], 0
    for char in text:
        used += cells(char)
        if used > width - 1:
            used -= cells(char)
            break
        kept.append(char)
    return "".join(kept) + "…" + " " * (width - 1 - used)
