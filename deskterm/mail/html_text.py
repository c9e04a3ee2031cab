"""HTML mail as terminal text, in bounded time and memory whatever the markup.

A terminal shows HTML mail as text, and the HTML comes from strangers. inscriptis lays it out
well, but it turns CSS lengths into characters: `padding-left` (up to 100,000 em) becomes
leading spaces on every line of every nested block and `margin-top`/`margin-bottom` become blank
lines, and a table pads every row to its widest line, so a 12 KB mail grew to 3.8 GB in 18 s
(FACTS.md) and the worker was OOM-killed on every poll. Capping the HTML input does not cap that
output, so here:

- CSS lengths are ignored: only `display` and `white-space` of a `style` are read. Pixel margins
  and paddings mean nothing in a terminal, and they were the amplifier.
- Indentation from nesting (lists, divs) stops growing at `MAX_INDENT` columns.
- Every character the layout writes, and every table before it is drawn, is charged against a
  budget of `max_chars`; a layout that would exceed it stops at once and the mail falls back
  to a plain tag stripper, whose output is never longer than its input.
- Whatever was bounded or replaced is returned as a note, which the parser keeps among the
  mail's repairs so the agent can see why the text looks plainer than the sender's layout.

`to_text` never raises on any markup. Callers cap the HTML they pass (the parser cuts bodies at
`max_body_bytes` first): the work here is linear in the input and bounded by `max_chars`.
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass
from html import unescape
from typing import Any

from inscriptis.css_profiles import RELAXED_CSS_PROFILE  # type: ignore[import-untyped]
from inscriptis.html_engine import Inscriptis  # type: ignore[import-untyped]
from inscriptis.html_properties import WhiteSpace  # type: ignore[import-untyped]
from inscriptis.model.attribute import DEFAULT_ATTRIBUTE_MAP  # type: ignore[import-untyped]
from inscriptis.model.canvas import Canvas  # type: ignore[import-untyped]
from inscriptis.model.canvas.block import Block  # type: ignore[import-untyped]
from inscriptis.model.canvas.prefix import Prefix  # type: ignore[import-untyped]
from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]
from inscriptis.model.css import CssParse  # type: ignore[import-untyped]
from inscriptis.model.tag.table_tag import (  # type: ignore[import-untyped]
    table_end_handler,
    table_start_handler,
    td_start_handler,
)
from lxml.etree import ParserError
from lxml.html import document_fromstring

MAX_INDENT = 32  # columns of indentation from nesting: 8 list levels, 16 divs
DEFAULT_MAX_CHARS = 1_000_000  # characters the layout may write (the parser passes its own)
LINE_COST = 8  # what a line costs beyond its characters, in characters

NOTE_TOO_BIG = "HTML layout would exceed {n} characters of text; tags stripped instead"
NOTE_FAILED = "HTML could not be converted ({error}); tags stripped instead"
NOTE_EMPTY = "HTML showed no text as laid out (nesting too deep?); tags stripped instead"
NOTE_INDENT = "HTML nested too deep; indentation capped at {n} columns"


@dataclass(frozen=True)
class Converted:
    """The text of an HTML body and what was bounded or replaced to get it."""

    text: str
    notes: tuple[str, ...]
    spent: int = 0  # characters of the budget the layout used: callers share one budget


def to_text(html: str, max_chars: int = DEFAULT_MAX_CHARS) -> Converted:
    """inscriptis' layout within `max_chars`, else a plain tag stripper; never raises."""
    html = html.lstrip("\ufeff")
    budget = _Budget(max(0, max_chars))
    notes: list[str] = []
    try:
        text = _layout(html, budget)
    except _Overflow:
        notes.append(NOTE_TOO_BIG.format(n=max_chars))
        text = ""
    except Exception as exc:  # RecursionError, MemoryError, a surprise inside inscriptis
        notes.append(NOTE_FAILED.format(error=type(exc).__name__))
        text = ""
    else:
        if budget.indent_capped:
            notes.append(NOTE_INDENT.format(n=MAX_INDENT))
    if not text.strip():
        stripped = strip_tags(html)
        if stripped.strip():
            if not notes:
                notes.append(NOTE_EMPTY)
            text = stripped
    lines = (line.rstrip() for line in normalise_newlines(text).split("\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")
    spent = min(max(0, max_chars - budget.left), max(0, max_chars))
    return Converted(text + "\n" if text else "", tuple(notes), spent)


def strip_tags(html: str) -> str:
    """A linear-time tag stripper: every regex here is bounded, so hostile markup stays cheap,
    and its output is never longer than its input."""
    kept = []
    pos = 0
    while True:
        match = _SCRIPT_OR_STYLE.search(html, pos)
        if not match:
            kept.append(html[pos:])
            break
        kept.append(html[pos : match.start()])
        close = _CLOSING[match.group(1).lower()].search(html, match.end())
        if not close:
            break
        pos = close.end()
    text = _BLOCK_TAG.sub("\n", "".join(kept))
    text = unescape(_TAG.sub("", text))
    lines = (" ".join(line.split()) for line in normalise_newlines(text).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def count_remote_images(html: str) -> int:
    """<img> tags whose src is remote; scans each tag once, so unclosed tags stay linear."""
    count = 0
    pos = 0
    for match in _IMG_TAG.finditer(html):
        if match.start() < pos:
            continue
        end = html.find(">", match.end(), match.end() + 4096)
        end = end if end >= 0 else min(len(html), match.end() + 4096)
        if _REMOTE_SRC.search(html, match.end(), end):
            count += 1
        pos = end
    return count


# --------------------------------------------------------------------------- tag stripping

_IMG_TAG = re.compile(r"<img\b", re.I)
_REMOTE_SRC = re.compile(r"""(?<![\w-])src\s*=\s*["']?\s*(?:https?:)?//""", re.I)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b", re.I)
_CLOSING = {tag: re.compile(rf"</{tag}\s*>", re.I) for tag in ("script", "style")}
_TAG = re.compile(r"<[^<>]{0,2000}>")
_BLOCK_TAG = re.compile(
    r"<(?:br|/p|/div|/tr|/li|/h\d|/table|p|div|tr|li|h\d)\b[^<>]{0,2000}>", re.I
)
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_newlines(text: str) -> str:
    """CR LF and lone CR as LF (mail text arrives with any of the three)."""
    if "\r" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# --------------------------------------------------------------------------- bounded layout


class _Overflow(Exception):
    """The layout would write more than its budget allows."""


class _Budget:
    """Characters the layout may still write; shared by every canvas of one conversion."""

    __slots__ = ("indent_capped", "left")

    def __init__(self, chars: int) -> None:
        self.left = chars
        self.indent_capped = False

    def charge(self, chars: int) -> None:
        """Charged before the characters are made, so the budget is never overdrawn by much."""
        self.left -= chars
        if self.left < 0:
            raise _Overflow


class _BoundedPrefix(Prefix):  # type: ignore[misc]
    """Indentation that stops at MAX_INDENT columns however deep the nesting goes."""

    __slots__ = ("budget",)

    def __init__(self, budget: _Budget) -> None:
        super().__init__()
        self.budget = budget

    def _padding(self, padding: int) -> int:
        if padding > MAX_INDENT:
            self.budget.indent_capped = True
            return MAX_INDENT
        return padding

    @property
    def first(self) -> str:
        if self.consumed:
            return ""
        self.consumed = True
        bullet = self.pop_next_bullet()
        return " " * (self._padding(self.current_padding) - len(bullet)) + bullet

    @property
    def unconsumed_bullet(self) -> str:
        if self.consumed:
            return ""
        bullet = self.pop_next_bullet()
        if not bullet:
            return ""
        padding = self._padding(self.current_padding - self.paddings[-1])
        return " " * (padding - len(bullet)) + bullet

    @property
    def rest(self) -> str:
        return " " * self._padding(self.current_padding)


class _BoundedBlock(Block):  # type: ignore[misc]
    """A line of the canvas that charges what it is about to write to the budget."""

    __slots__ = ("budget",)

    def __init__(self, idx: int, prefix: Prefix, budget: _Budget) -> None:
        super().__init__(idx, prefix)
        self.budget = budget

    def merge(self, text: str, whitespace: WhiteSpace) -> None:
        # An upper bound of what merging adds: the text, the prefix of its first line and, in
        # preformatted text, the prefix of every further line.
        pad = min(self.prefix.current_padding, MAX_INDENT)
        lines = text.count("\n") if whitespace == WhiteSpace.pre else 0
        self.budget.charge(len(text) + pad * (1 + lines))
        super().merge(text, whitespace)

    def new_block(self) -> _BoundedBlock:
        # A line costs memory of its own (a str and a list slot) even when it is empty.
        self.budget.charge(LINE_COST)
        self.prefix.consumed = False
        return _BoundedBlock(self.idx + 1, self.prefix, self.budget)


def _bind(canvas: Canvas, budget: _Budget) -> None:
    """Give a fresh canvas (the page, a table, a cell) a bounded line; once per canvas."""
    if not isinstance(canvas.current_block, _BoundedBlock):
        canvas.current_block = _BoundedBlock(0, _BoundedPrefix(budget), budget)


def _style(value: str, element: Any) -> None:
    """A `style` attribute read for `display` and `white-space` only: lengths are ignored."""
    for directive in value.lower().split(";"):
        key, colon, setting = directive.partition(":")
        if not colon:
            continue
        key = key.strip()
        if key == "display":
            CssParse.attr_display(setting.strip(), element)
        elif key == "white-space":
            CssParse.attr_white_space(setting.strip(), element)


class _BoundedInscriptis(Inscriptis):  # type: ignore[misc]
    """inscriptis whose every canvas writes through the budget, tables measured before drawn."""

    def __init__(self, tree: Any, config: ParserConfig, budget: _Budget) -> None:
        self._budget = budget
        self._started = False
        super().__init__(tree, config)

    def _parse_html_tree(self, state: Any, tree: Any) -> Canvas:
        if not self._started:  # the root: set up before anything is written
            self._started = True
            _bind(state.canvas, self._budget)
            # The profile's body element is shared by every conversion: use our own copy.
            state.tags[0] = copy(state.tags[0]).set_canvas(state.canvas)
            self.start_tag_handler_dict.update(
                table=self._table_start, td=self._cell_start, th=self._cell_start
            )
            self.end_tag_handler_dict["table"] = self._table_end
        return super()._parse_html_tree(state, tree)

    def _table_start(self, state: Any, attrs: dict[str, str]) -> None:
        table_start_handler(state, attrs)
        _bind(state.tags[-1].canvas, self._budget)

    def _cell_start(self, state: Any, attrs: dict[str, str]) -> None:
        td_start_handler(state, attrs)
        _bind(state.tags[-1].canvas, self._budget)

    def _table_end(self, state: Any) -> None:
        """Charge the table's drawn size before inscriptis draws it: every row is padded to
        the table's width and every cell to its row's height, which is where a short input
        (one long line over many rows, many columns over many rows) multiplies."""
        table = state.current_table[-1] if state.current_table else None
        if table is not None and table.rows:
            columns = max(len(row.columns) for row in table.rows)
            self._budget.charge(len(table.rows) * columns)  # sizing visits every slot
            table._set_row_height()
            table._set_column_width()
            self._budget.charge(
                sum((row.width + 1) * row.columns[0].height for row in table.rows if row.columns)
            )
        table_end_handler(state)


def _profile() -> dict[str, Any]:
    return {tag: copy(element) for tag, element in RELAXED_CSS_PROFILE.items()}


_CONFIG = ParserConfig(css=_profile(), display_links=True)
_CONFIG.attribute_handler.attribute_mapping = {**DEFAULT_ATTRIBUTE_MAP, "style": _style}


_XML_DECLARATION = re.compile(r"^<\?xml [^>]{0,2000}?\?>")
_CLOSING_HTML = re.compile(r"</(?:body|html)\s*>", re.I)


def _with_tail_inside(html: str) -> str:
    """The document with what follows its closing `</body>`/`</html>` moved inside the body.

    Mail servers append their disclaimers to an HTML part after `</html>`, and lxml drops
    whatever comes after the document's end; a browser (and Thunderbird) still shows it. The
    closing tags are dropped so the parser reads the tail as more of the body.
    """
    lower = html[-65_536:].lower()  # the tail to look at: a disclaimer, not a second document
    at = max(lower.rfind("</html"), lower.rfind("</body"))
    if at < 0:
        return html
    at += len(html) - len(lower)
    end = html.find(">", at)
    if end < 0 or not html[end + 1 :].strip():
        return html
    return html[:at] + _CLOSING_HTML.sub("", html[at:])


def _layout(html: str, budget: _Budget) -> str:
    """As `inscriptis.get_text`, with the bounded engine."""
    html = _with_tail_inside(_XML_DECLARATION.sub("", html.strip(), count=1))
    if not html:
        return ""
    try:
        tree = document_fromstring(html)
    except ParserError:  # e.g. only a comment: inscriptis reads such a body as preformatted
        tree = document_fromstring("<pre>" + html + "</pre>")
    return str(_BoundedInscriptis(tree, _CONFIG, budget).get_text())
