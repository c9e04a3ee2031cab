"""The text the agent reads: the body pieces of a mail in order, within `max_body_bytes`.

Bodies are capped before any HTML conversion, so a 5 MB newsletter or an HTML body with
thousands of links costs the same bounded time as a small one; what was cut is marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from deskterm.mail import html_text
from deskterm.mail.parse.context import Ctx
from deskterm.mail.parse.mime import Piece

TRUNCATION_MARKER = "[... message truncated by deskterm: {n} bytes not shown ...]"
HTML_CHARS_PER_BYTE = 10  # layout budget per byte of body kept: tables pad, text is shorter


def truncate(text: str, limit: int) -> tuple[str, int]:
    """Cut to `limit` UTF-8 bytes on a character boundary; return the text and bytes dropped."""
    if len(text) * 4 <= limit:
        return text, 0
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text, 0
    kept = encoded[:limit].decode("utf-8", "ignore")
    return kept, len(encoded) - len(kept.encode("utf-8", "surrogatepass"))


def with_marker(text: str, omitted: int) -> str:
    return text.rstrip("\n") + "\n\n" + TRUNCATION_MARKER.format(n=omitted) + "\n"


@dataclass
class Body:
    """The text shown, the HTML stored (both cut at the limit), and whether anything was cut."""

    text: str
    html: str | None
    truncated: bool
    text_format: str = ""  # "flowed" or "flowed delsp" when every text shown declared it


def compose_body(pieces: list[Piece], limit: int, ctx: Ctx) -> Body:
    """The display text: every body piece in the order sent, each as its plain text when that
    says anything, else its HTML converted; pieces that show nothing are left out.

    The work stays bounded however many pieces a mail has: the HTML converted is cut at
    `limit` bytes in all, the layout of all pieces shares one budget (see deskterm.mail.html_text),
    and once `limit` bytes of text are shown the remaining pieces are only counted as omitted.
    The stored `html` is all HTML pieces joined, cut at `limit`.
    """
    htmls = [piece.html for piece in pieces if piece.html is not None]
    full_html = html_text.normalise_newlines("\n".join(htmls)) if htmls else None
    html, html_cut = truncate(full_html, limit) if full_html is not None else (None, 0)
    texts: list[str] = []
    formats: set[str] = set()  # the text_format of each text shown ("html" for converted HTML)
    omitted = 0
    shown = 0  # characters of text so far: once past `limit` bytes, nothing more can show
    html_left = limit  # bytes of HTML that may still be converted
    layout_left = max(limit, 4096) * HTML_CHARS_PER_BYTE
    for piece in pieces:
        plain = piece.plain
        source = plain if plain is not None and (plain.strip() or piece.html is None) else None
        if shown > limit:
            omitted += len((source if source is not None else piece.html or "").encode())
            continue
        formats.add(piece.text_format if source is not None else "html")
        if source is not None:
            text = html_text.normalise_newlines(source)
        else:
            markup, cut = truncate(html_text.normalise_newlines(piece.html or ""), html_left)
            html_left -= len(markup.encode("utf-8", "surrogatepass"))
            omitted += cut
            converted = html_text.to_text(markup, max_chars=max(layout_left, 4096))
            layout_left -= converted.spent
            for note in converted.notes:
                ctx.defect(note)
            text = converted.text
        texts.append(text)
        shown += len(text)
    said = [t for t in texts if t.strip()]
    if len(said) > 1:  # a blank line between parts, where a mail client draws a rule
        joined = "\n\n".join(t.rstrip("\n") for t in said) + "\n"
    else:
        joined = said[0] if said else "".join(texts)
    text, cut = truncate(joined, limit)
    omitted += cut
    marked = with_marker(text, omitted) if omitted else text
    text_format = formats.pop() if len(formats) == 1 else ""
    return Body(
        marked, html, bool(omitted or html_cut), "" if text_format == "html" else text_format
    )
