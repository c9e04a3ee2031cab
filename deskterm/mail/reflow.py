"""Plain mail text re-flowed to the width of the view, as a mail client shows it.

Senders break their lines: at 72 or 76 columns (hard-wrapped), and a quoting client often
breaks them again a few columns later, which leaves a long line and a two-word line in turn.
Shown as sent at 80 columns (or at 120) that reads raggedly, and a quoted line the view wraps
loses its `>`. Here a message becomes paragraphs, and the paragraphs become lines of the
view's width:

- format=flowed (RFC 3676), where the part declares it: a line ending in a space goes on in
  the next line of the same quote depth, space-stuffing is undone, and with DelSp=yes the
  space that marks the soft break is not part of the text. "-- " (the signature separator)
  is never flowed.
- Other plain text is joined conservatively: a line goes on in the next one only when the
  next line's first word would not have fitted on it at the width the message was wrapped at
  (its longest line up to 90 columns, per quote depth; never in a message whose lines are
  all shorter than 60 columns) and it fills at least 70% of that width, or when it is the
  few-word tail a quoting client broke off a long line (and does not end a sentence).
  Never joined: lines of a different quote depth, indented lines (code), lines with a tab,
  three spaces in a row or two `|` (tables), rules (`-----`, `=====`), list items (`- `,
  `* `, `1.`, `a)`), a line ending in `:`, and everything after the signature separator
  `-- `.
- Prose paragraphs are wrapped at spaces to the width; every line of a quoted paragraph keeps
  its quote markers (`> ` stays at the start of each line). A line kept as sent (code, a
  table, a list item, a signature) or a word longer than the width is cut at the width and
  its continuations are marked `wrapped`: the view draws mutt's `+` in the first column, so
  a break the sender did not make is told from one they did, with or without colour.

Pure and linear: no regex that can backtrack over a line, no copy per line of the whole text,
so a hostile message (one 10 MB line, a million `>`) costs time and memory in proportion to
its size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deskterm.sanitize import cells

MARK = "+"  # what the view draws before a continuation the sender did not make (mutt's)
HARD_WRAP_MIN = 60  # a message whose lines are all shorter than this is not hard-wrapped prose
HARD_WRAP_MAX = 90  # longer lines are not from a hard wrap (they are long lines sent whole)
MAX_DEPTH = 20  # quote depth shown; deeper markers are kept as text

_QUOTE = re.compile(r"(?: {0,2}>)+ ?")  # "> > ", ">>", " > ": each group is one ">"
_LIST_ITEM = re.compile(r"(?:[-*•+–]|\d{1,3}[.)]|[A-Za-z][.)]|\(\w{1,3}\)) ")
_RULE = re.compile(r"([-=_*~#])\1{3,}\s*$")


@dataclass(frozen=True)
class Line:
    """One line of the view: its quote markers, its text, and whether the view made the break
    before it in a line the sender kept whole (draw `MARK` before it)."""

    prefix: str
    text: str
    depth: int = 0
    wrapped: bool = False


@dataclass
class _Paragraph:
    depth: int
    prefix: str
    text: str
    prose: bool  # wrapped at spaces; else kept as sent and cut at the width


def _split_quote(line: str) -> tuple[int, str, str]:
    """(depth, prefix as shown, text) of a line of plain text."""
    if ">" not in line[:3]:
        return 0, "", line
    match = _QUOTE.match(line)
    if match is None:
        return 0, "", line
    depth = match.group().count(">")
    if depth > MAX_DEPTH:  # the markers past MAX_DEPTH stay, as text
        return MAX_DEPTH, "> " * MAX_DEPTH, ">" * (depth - MAX_DEPTH) + line[match.end() :]
    return depth, match.group().rstrip() + " ", line[match.end() :]


def _verbatim(text: str) -> bool:
    """A line whose layout means something: code, a table, a rule, a list item."""
    text = text.rstrip()
    return (
        text[:1] in (" ", "\t")
        or "\t" in text
        or "   " in text
        or text.count("|") >= 2
        or _RULE.match(text) is not None
        or _LIST_ITEM.match(text) is not None
    )


def _first_word(text: str) -> str:
    end = text.find(" ")
    return text if end < 0 else text[:end]


def _flowed_paragraphs(text: str, delsp: bool) -> list[_Paragraph]:
    """RFC 3676: soft breaks (a trailing space) joined within one quote depth."""
    paragraphs: list[_Paragraph] = []
    pending: _Paragraph | None = None  # its text is `pieces`, joined once it ends (linear)
    pieces: list[str] = []
    for raw in text.split("\n"):
        raw = raw.removesuffix("\r")
        depth = len(raw) - len(raw.lstrip(">"))
        body = raw[depth:]
        body = body[1:] if body.startswith(" ") else body  # space-stuffing undone
        shown = min(depth, MAX_DEPTH)
        prefix = ">" * shown + " " if shown else ""
        if depth > MAX_DEPTH:
            body = ">" * (depth - MAX_DEPTH) + body
        soft = body.endswith(" ") and body != "-- "
        if soft and delsp:
            body = body[:-1]
        if pending is not None and pending.depth != shown:
            pending.text = "".join(pieces)
            paragraphs.append(pending)
            pending = None
        if pending is None:
            pending, pieces = _Paragraph(shown, prefix, "", prose=True), []
        pieces.append(body)
        if not soft:
            pending.text = "".join(pieces)
            pending.prose = body != "-- " and (pending.text != body or not _verbatim(body))
            paragraphs.append(pending)
            pending = None
    if pending is not None:
        pending.text = "".join(pieces)
        paragraphs.append(pending)
    return paragraphs


def _hard_wrap_widths(lines: list[tuple[int, str, str]]) -> dict[int, int]:
    """Per quote depth, the width the sender wrapped at: the longest line of prose up to 90
    cells (a long line of code or a table says nothing of it)."""
    widths: dict[int, int] = {}
    for depth, _prefix, body in lines:
        if _verbatim(body):
            continue
        length = cells(body.rstrip())
        if length <= HARD_WRAP_MAX and length > widths.get(depth, 0):
            widths[depth] = length
    return widths


def _plain_paragraphs(text: str) -> list[_Paragraph]:
    """Hard-wrapped lines joined where the sender's client, not the sender, broke them."""
    lines = [_split_quote(raw.removesuffix("\r")) for raw in text.split("\n")]
    widths = _hard_wrap_widths(lines)
    paragraphs: list[_Paragraph] = []
    signature_depth: int | None = None  # after "-- ": kept as sent, at that depth
    current: _Paragraph | None = None  # its text is `pieces`, joined once it ends (linear)
    pieces: list[str] = []
    tail = False  # the current paragraph's last line was a short tail joined to a long line
    last = ""  # the current paragraph's last line as sent
    for depth, prefix, body in lines:
        stripped = body.rstrip()
        if signature_depth is not None and depth != signature_depth:
            signature_depth = None
        if stripped == "--":
            signature_depth = depth
        keep = signature_depth is not None or not stripped or _verbatim(body)
        if current is not None and not keep and current.prose and current.depth == depth:
            width = widths.get(depth, 0)
            long_line = cells(last) + 1 + cells(_first_word(stripped)) > width
            if (
                width >= HARD_WRAP_MIN
                and not last.endswith(":")
                and (
                    (long_line and cells(last) * 10 >= width * 7)
                    or (tail and not last.endswith((".", "!", "?", ",", ";")))
                )
            ):
                tail = long_line and cells(last) * 10 >= width * 7 and cells(stripped) * 2 < width
                pieces.append(stripped)
                last = stripped
                continue
        if current is not None:
            current.text = " ".join(pieces)
            paragraphs.append(current)
        current = _Paragraph(depth, prefix, stripped if not keep else body, prose=not keep)
        pieces = [current.text]
        tail, last = False, stripped
    if current is not None:
        current.text = " ".join(pieces)
        paragraphs.append(current)
    return paragraphs


def _fit(text: str, start: int, width: int, ascii: bool) -> int:
    """The end of the longest piece of `text` from `start` that fits `width` cells (at least
    one character); O(width), so cutting a long line costs its length, not its square."""
    if ascii:
        return min(start + max(width, 1), len(text))
    used = 0
    for index in range(start, len(text)):
        used += cells(text[index])
        if used > width and index > start:
            return index
    return len(text)


def _pieces(text: str, width: int, continued: int) -> list[str]:
    """`text` cut into pieces of `width` cells, then `continued` cells."""
    pieces, start, room, ascii = [], 0, width, text.isascii()
    while start < len(text):
        end = _fit(text, start, room, ascii)
        pieces.append(text[start:end])
        start, room = end, continued
    return pieces


def _wrap_prose(text: str, width: int, continued: int) -> list[tuple[str, bool]]:
    """Greedy wrap at spaces: (line, marked) pairs; a word wider than the line is cut and
    its pieces after the first are marked. `continued` is the width of marked lines."""
    out: list[tuple[str, bool]] = []
    words: list[str] = []
    used = 0
    for word in text.split():
        size = cells(word)
        if words and used + 1 + size <= width:
            words.append(word)
            used += 1 + size
            continue
        if words:
            out.append((" ".join(words), False))
        if size <= width:
            words, used = [word], size
            continue
        pieces = _pieces(word, width, continued)
        out += [(piece, index > 0) for index, piece in enumerate(pieces)]
        words, used = [], 0
    if words or not out:
        out.append((" ".join(words), False))
    return out


def _wrap_verbatim(text: str, width: int, continued: int) -> list[tuple[str, bool]]:
    """A line kept as sent, cut at the width: after the last space that leaves more than
    half the line (mutt's smart wrap), or inside a word that has no such space."""
    if cells(text) <= width:
        return [(text, False)]
    text = text.rstrip()
    out: list[tuple[str, bool]] = []
    start, room, ascii = 0, width, text.isascii()
    while start < len(text):
        end = _fit(text, start, room, ascii)
        if end < len(text) and text[end] != " ":
            space = text.rfind(" ", start, end)
            if space > start + (end - start) // 2:
                end = space + 1
        piece = text[start:end].rstrip()
        out.append((piece, bool(out)))
        start, room = end, continued
        while piece and start < len(text) and text[start] == " ":
            start += 1
    return out


def reflow(
    text: str | bytes, width: int, *, flowed: bool = False, delsp: bool = False
) -> list[Line]:
    """The lines of a plain-text body at `width` cells (see the module's docstring).

    A marked line is one cell narrower than `width`, leaving the first column to the mark.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    paragraphs = _flowed_paragraphs(text, delsp) if flowed else _plain_paragraphs(text)
    lines: list[Line] = []
    for paragraph in paragraphs:
        prefix = paragraph.prefix
        if not paragraph.text.strip():
            lines.append(Line(prefix.rstrip(), "", paragraph.depth))
            continue
        room = max(width - cells(prefix), 10)
        wrap = _wrap_prose if paragraph.prose else _wrap_verbatim
        for piece, marked in wrap(paragraph.text, room, max(room - len(MARK), 9)):
            lines.append(Line(prefix, piece, paragraph.depth, marked))
    return lines
