"""One message of a thread: who, when, attachments, and the text with quoted history folded.

Everything shown here comes from a mail, so it is cleaned (`sanitize.clean`/`one_line`) and
assembled as `Content` from plain strings: never parsed as markup, never able to emit escape
sequences. Quote detection is a pure function (`split_quotes`) so it is tested without a UI.
The text is re-flowed to the width it is drawn at (deskterm.mail.reflow, through the
`Reflowed` visual): paragraphs fill the terminal, quoted lines keep their `>` when wrapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from textual.content import Content
from textual.css.styles import RulesMap
from textual.selection import Selection
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual
from textual.widgets import Static

from deskterm.mail.reflow import MARK, reflow
from deskterm.sanitize import clean, one_line

# "On Fri, 8 Mar 2024 at 14:02, Sam <sam@x> wrote:" and its French and German cousins.
_ATTRIBUTION = re.compile(
    r"^\s*(On\s.{1,300}\swrote|Le\s.{1,300}\sa\s+écrit|Am\s.{1,300}\sschrieb\s.{0,200})\s?:\s*$",
    re.IGNORECASE,
)
# Outlook and friends put the whole history below one of these lines, without ">".
_HISTORY = re.compile(
    r"^\s*-{2,}\s*(Original Message|Forwarded message|Ursprüngliche Nachricht|"
    r"Message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)


@dataclass
class Block:
    quoted: bool
    lines: list[str]


def split_quotes(text: str) -> list[Block]:
    """Cut a message text into what the sender wrote and the history they quoted.

    Quoted: lines starting with ">", an "On ... wrote:" line (also when wrapped over two lines)
    just before them, and everything after an "-----Original Message-----" line. Blank lines
    between two quoted lines belong to the quote.
    """
    lines = text.split("\n")
    kinds: list[bool] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _HISTORY.match(line):
            kinds.extend([True] * (len(lines) - i))
            break
        if line.lstrip().startswith(">") or _ATTRIBUTION.match(line):
            kinds.append(True)
        elif (
            i + 1 < len(lines)
            and line.lstrip().lower().startswith(("on ", "le ", "am "))
            and _ATTRIBUTION.match(f"{line} {lines[i + 1]}")
        ):
            kinds.extend([True, True])
            i += 1
        else:
            kinds.append(False)
        i += 1
    _quote_blank_lines_between_quotes(lines, kinds)
    blocks: list[Block] = []
    for line, quoted in zip(lines, kinds, strict=True):
        if blocks and blocks[-1].quoted == quoted:
            blocks[-1].lines.append(line)
        else:
            blocks.append(Block(quoted, [line]))
    return blocks


def _quote_blank_lines_between_quotes(lines: list[str], kinds: list[bool]) -> None:
    """Two linear passes (a hostile mail may hold 100,000 blank lines)."""
    before: list[bool] = []
    last = False
    for line, quoted in zip(lines, kinds, strict=True):
        before.append(last)
        if line.strip():
            last = quoted
    last = False
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            last = kinds[index]
        else:
            kinds[index] = before[index] and last


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def when(iso: str | None) -> str:
    if not iso:
        return "no date"
    return datetime.fromisoformat(iso).strftime("%a %d %b %Y %H:%M UTC")


def sender(message: dict[str, Any]) -> str:
    name, address = one_line(message.get("from_name") or ""), one_line(message.get("from") or "")
    if name and address:
        return f"{name} <{address}>"
    return name or address or "(unknown sender)"


def note_lines(notes: dict[str, Any]) -> list[str]:
    """What the text does not show, in words (the notes the ingest stored)."""
    lines = []
    count = notes.get("remote_images")
    if isinstance(count, int) and count:
        noun = "image" if count == 1 else "images"
        lines.append(f"{count} remote {noun} in the HTML, never loaded")
    count = notes.get("dropped_parts")
    if isinstance(count, int) and count:
        lines.append(f"{count} tiny image(s) or empty part(s) left out (tracking pixels)")
    if notes.get("truncated"):
        lines.append("The text was cut at the size limit; the raw message is kept whole")
    repairs = [one_line(str(r)) for r in notes.get("repairs") or []][:5]
    if repairs:
        lines.append("Repaired: " + "; ".join(repairs))
    if notes.get("ack_failed"):
        lines.append(f"No acknowledgement was sent: {one_line(str(notes['ack_failed']))}")
    return lines


def text_format(message: dict[str, Any]) -> tuple[bool, bool]:
    """(flowed, delsp): how the sender's text/plain part said its lines break (RFC 3676),
    as the ingest noted it."""
    declared = str((message.get("notes") or {}).get("format") or "")
    return declared.startswith("flowed"), declared == "flowed delsp"


def reflowed(lines: list[str], width: int, style: str, how: tuple[bool, bool]) -> Content:
    """Lines of the text re-flowed to `width` (deskterm.mail.reflow): quote markers on every
    line of a quote, and mutt's `+` before a break the sender did not make."""
    flowed, delsp = how
    out = []
    for line in reflow("\n".join(lines), width, flowed=flowed, delsp=delsp):
        pieces: list[str | tuple[str, str]] = [(MARK, "bold $accent")] if line.wrapped else []
        pieces += [(line.prefix, "dim"), (line.text, style)]
        out.append(Content.assemble(*pieces))
    return Content("\n").join(out)


NEW_MARK = " new "  # on a message that arrived while its thread was open, until read


def message_content(
    message: dict[str, Any], show_quotes: bool, width: int | None = None, *, new: bool = False
) -> Content:
    """The whole message as Content, built from plain strings and our own styles only; with
    a `width`, the text is re-flowed to it (without, it is as sent). `new`: marked as arrived
    while the thread was open, not yet moved to."""
    incoming = message.get("direction") == "in"
    parts: list[str | tuple[str, str] | Content] = [
        *([(NEW_MARK, "bold reverse $warning"), " "] if new else []),
        ("▶ " if incoming else "◀ ", "bold $accent" if incoming else "bold $success"),
        (sender(message), "bold"),
        ("  " + when(message.get("date")), "dim"),
    ]
    if not incoming and message.get("state") not in (None, "received"):
        parts.append((f"  ({one_line(message['state'])})", "bold $warning"))
    if not incoming and message.get("sent_by"):  # who sent it (desk/reply_authors.py)
        parts += ["\n", (one_line(str(message["sent_by"])), "$success")]
    if (message.get("notes") or {}).get("outsider"):
        # Joined by its In-Reply-To/References alone, from someone not in the conversation:
        # it changed nothing, and the agent should know who is writing in.
        parts += ["\n", ("Not a participant of this conversation", "bold $warning")]
    for routed in message.get("routing") or []:
        # Why the conversation is where it is (deskterm.desk.rules): the agent sees the rule.
        failed = bool(routed.get("error"))
        parts += [
            "\n",
            (one_line(str(routed.get("said") or "")), "$warning" if failed else "$accent"),
        ]
    for label, key in (("To", "to"), ("Cc", "cc")):
        addresses = [one_line(a) for a in message.get(key) or []]
        if addresses:
            parts += ["\n", (f"{label}: " + ", ".join(addresses), "dim")]
    reply_to = message.get("reply_to")
    if incoming and reply_to and reply_to != message.get("from"):
        parts += [
            "\n",
            (f"Reply-To: {one_line(reply_to)} (not used unless you pick it)", "$warning"),
        ]
    for attachment in message.get("attachments") or []:
        detail = f"{human_size(attachment['size'])}, {one_line(attachment['content_type'])}"
        parts += ["\n", ("Attached: ", "dim"), (one_line(attachment["filename"]), "underline")]
        parts += [(f" ({detail})", "dim")]
    notes = note_lines(message.get("notes") or {})
    if notes:
        parts += ["\n", ("\n".join(notes), "dim italic")]
    parts.append("\n\n")
    body = clean(message.get("text") or "").expandtabs(4).rstrip()
    for block in split_quotes(body) if body else [Block(False, ["(no text)"])]:
        if block.quoted and not show_quotes:
            count = len(block.lines)
            noun = "line" if count == 1 else "lines"
            parts += [(f"··· {count} quoted {noun} hidden (t shows them) ···", "dim italic"), "\n"]
        elif width is None:
            parts += [("\n".join(block.lines), "dim" if block.quoted else ""), "\n"]
        else:
            how = text_format(message)
            parts += [reflowed(block.lines, width, "dim" if block.quoted else "", how), "\n"]
    return Content.assemble(*parts).rstrip()


class Reflowed(Visual):
    """A message laid out for the width it is drawn at: the text re-flows when the terminal
    is resized (one layout per width, kept until the next)."""

    def __init__(self, message: dict[str, Any], show_quotes: bool, new: bool = False) -> None:
        self.message = message
        self.show_quotes = show_quotes
        self.new = new
        self._laid_out: tuple[int, Content] | None = None

    def __str__(self) -> str:
        """The text as last laid out (as sent before the first layout)."""
        if self._laid_out is None:
            return str(message_content(self.message, self.show_quotes, new=self.new))
        return str(self._laid_out[1])

    def at(self, width: int) -> Content:
        if self._laid_out is None or self._laid_out[0] != width:
            content = message_content(self.message, self.show_quotes, width, new=self.new)
            self._laid_out = (width, content)
        return self._laid_out[1]

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self.at(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return container_width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.at(width).get_height(rules, width)


class MessageView(Static):
    """A message as one block of text; re-rendered when quotes are shown or hidden, or when
    its "new" mark (arrived while the thread was open) goes."""

    DEFAULT_CSS = """
    MessageView { padding: 1 1 0 1; border-bottom: hkey $primary 30%; }
    """

    def __init__(
        self, message: dict[str, Any], show_quotes: bool = False, *, new: bool = False
    ) -> None:
        super().__init__(Reflowed(message, show_quotes, new), markup=False)
        self.message = message
        self.quotes = show_quotes
        self.new = new

    def show_quotes(self, show: bool) -> None:
        self.quotes = show
        self.update(Reflowed(self.message, show, self.new))

    def show_message(self, message: dict[str, Any], show_quotes: bool) -> None:
        """The same message read again with something changed (a reply's state)."""
        self.message = message
        self.quotes = show_quotes
        self.update(Reflowed(message, show_quotes, self.new))

    def mark_read(self) -> None:
        """The reader moved to it: the "new" mark goes."""
        if self.new:
            self.new = False
            self.update(Reflowed(self.message, self.quotes))

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text selected with the mouse (to copy an order number, an address...): Textual
        extracts it from a `Text` or `Content` only, so here from the layout on screen."""
        return selection.extract(str(self.content)), "\n"
