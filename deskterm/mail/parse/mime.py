"""The MIME walk: a message's body pieces in the order sent, and the attachments beside them.

Bounded by `MAX_PARTS` and `MAX_DEPTH`; the stdlib's repairs are noted as the mail's defects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from deskterm.mail.parse.charsets import decode
from deskterm.mail.parse.context import Attachment, Ctx
from deskterm.mail.parse.headers import header_text, one_line, params, unfold
from deskterm.mail.parse.limits import MAX_DEPTH, MAX_PARTS


class Part(Message):
    """A Message that makes the stdlib parser keep `message/*` bodies as unparsed bytes.

    The feed parser descends into a part when `get_content_maintype()` says "message"; answering
    otherwise keeps a forwarded mail as the exact bytes sent (the attachment stays byte-for-byte
    what the customer forwarded) and skips parsing it at all, which is also faster. The real type
    is still read with `get_content_type()`.
    """

    def get_content_maintype(self) -> str:
        maintype = super().get_content_maintype()
        return "application" if maintype == "message" else maintype

    def get_boundary(self, failobj: object = None) -> Any:
        """The boundary unfolded: compat32 keeps a folded header's line break inside a quoted
        value, so `boundary="foo` + ` bar"` on the next line never matched the `--foo bar`
        lines of the body and the whole multipart was shown as raw MIME text. RFC 5322
        unfolding drops only the line break; the feed parser asks here for the boundary.
        """
        boundary = super().get_boundary(failobj)
        if isinstance(boundary, str) and ("\n" in boundary or "\r" in boundary):
            return unfold(boundary)
        return boundary


_DEFECT_TEXT = {
    "NoBoundaryInMultipartDefect": "multipart without boundary",
    "StartBoundaryNotFoundDefect": "MIME start boundary not found",
    "CloseBoundaryNotFoundDefect": "missing closing MIME boundary",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation",
    "MisplacedEnvelopeHeaderDefect": "misplaced envelope header",
    "MissingHeaderBodySeparatorDefect": "missing blank line after headers",
    "MultipartInvariantViolationDefect": "multipart type without subparts",
    "InvalidMultipartContentTransferEncodingDefect": "bad transfer encoding on multipart",
    "InvalidBase64PaddingDefect": "bad base64 padding",
    "InvalidBase64CharactersDefect": "invalid base64 characters",
    "InvalidBase64LengthDefect": "undecodable base64",
}
_BODY_TYPES = ("text/plain", "text/html")
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_META_CHARSET = re.compile(
    rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:+-]{1,40})", re.I
)


def _first_headers(part: Message) -> dict[str, str]:
    """First raw value of each header of a part (raw_items keeps 8-bit bytes recoverable)."""
    found: dict[str, str] = {}
    for name, value in part.raw_items():
        found.setdefault(name.strip().lower(), value if isinstance(value, str) else str(value))
    return found


def content_type(part: Message, ctx: Ctx) -> str:
    ctype = part.get_content_type()
    if not _MIME_TYPE.fullmatch(ctype):
        ctx.defect("invalid Content-Type; read as text/plain")
        return "text/plain"
    return ctype


@dataclass
class Piece:
    """One text of the message body as sent: text/plain, HTML, or both forms of one text
    (a multipart/alternative). The pieces of a message are shown one after another."""

    plain: str | None = None
    html: str | None = None
    text_format: str = ""  # of the plain text: "flowed" or "flowed delsp" (RFC 3676)


def walk(part: Message, depth: int, ctx: Ctx) -> list[Piece]:
    """Collect the body pieces, in the order sent, and the attachments below `part`.

    Sibling parts of a multipart/mixed (or related, or any other) are different content: an
    HTML body and the text/plain disclaimer a gateway appended are both the message, and both
    are shown. Only the parts of a multipart/alternative say the same thing twice.
    """
    ctx.parts += 1
    if ctx.parts > MAX_PARTS:
        ctx.defect(f"more than {MAX_PARTS} MIME parts; the rest ignored")
        return []
    ctype = content_type(part, ctx)
    if not part.is_multipart():
        found = _leaf(part, ctype, ctx)
        _note_defects(part, ctx)  # after _leaf: decoding the payload adds base64 defects
        return found
    _note_defects(part, ctx)
    if depth >= MAX_DEPTH:
        ctx.defect(f"MIME nested deeper than {MAX_DEPTH}; inner parts ignored")
        return []
    children = [c for c in part.get_payload() if isinstance(c, Message)]
    if ctype == "message/delivery-status":
        _delivery_status(children, ctx)
        return []
    results = [walk(child, depth + 1, ctx) for child in children]
    if ctype == "multipart/alternative":
        return _alternative(results)
    return [piece for result in results for piece in result]


def _alternative(results: list[list[Piece]]) -> list[Piece]:
    """Alternatives say the same thing: one piece holding the first plain and the last HTML
    alternative (the sender's preference order), so the body shows it once."""
    plain = next((r for r in results if any(p.plain is not None for p in r)), None)
    html = next((r for r in reversed(results) if any(p.html is not None for p in r)), None)
    if plain is None and html is None:
        return []
    plains = None if plain is None else [p.plain for p in plain if p.plain is not None]
    formats = {p.text_format for p in plain or [] if p.plain is not None}
    htmls = None if html is None else [p.html for p in html if p.html is not None]
    return [
        Piece(
            plain=None if plains is None else "\n".join(plains),
            html=None if htmls is None else "\n".join(htmls),
            text_format=formats.pop() if len(formats) == 1 else "",
        )
    ]


def _text_format(cparams: dict[str, str]) -> str:
    """How a text/plain part says its lines break: "flowed", "flowed delsp" (RFC 3676's
    format=flowed and DelSp=yes), or "" (fixed lines), for the view to re-flow the text."""
    if cparams.get("format", "").strip().lower() != "flowed":
        return ""
    return "flowed delsp" if cparams.get("delsp", "").strip().lower() == "yes" else "flowed"


def _note_defects(part: Message, ctx: Ctx) -> None:
    for defect in part.defects:
        name = type(defect).__name__
        ctx.defect(_DEFECT_TEXT.get(name, name))


def _leaf(part: Message, ctype: str, ctx: Ctx) -> list[Piece]:
    """The body piece of a text part not sent as an attachment, and the attachment of a part
    that is a file; a named inline text part after the body is both.

    A text/plain or text/html part is shown unless its disposition says `attachment`, as
    Thunderbird does: `Content-Disposition: inline; filename=...` and Netscape's
    `Content-Type: text/plain; name=...` on the message's only text left the text empty.
    When such a named part comes after the body (a log, a CSV, a patch pasted inline), it is
    also kept as an attachment so the agent can save it whole under its name (the text shown
    is capped at the body limit). The first body piece is the message itself, whatever name
    its part carries, so it is not listed a second time as a file.
    """
    headers = _first_headers(part)
    disposition, dparams = params(headers.get("content-disposition"), ctx, "content-disposition")
    _, cparams = params(headers.get("content-type"), ctx, "content-type")
    name = dparams.get("filename") or cparams.get("name") or ""
    data = _payload(part, headers, ctx)
    if ctype.startswith("multipart/"):
        ctype = "text/plain"  # a multipart that lost its boundary: its bytes are the best we have
    pieces: list[Piece] = []
    if ctype in _BODY_TYPES and disposition != "attachment":
        charset = cparams.get("charset") or _sniff_charset(data, ctype)
        text = decode(data, charset, ctx, ctype).lstrip("\ufeff")
        pieces.append(
            Piece(plain=text, text_format=_text_format(cparams))
            if ctype == "text/plain"
            else Piece(html=text)
        )
        first, ctx.body_seen = not ctx.body_seen, True
        if first or not name:
            return pieces
    if ctype in ("message/rfc822", "message/global"):
        name = eml_name(data, ctx) or name
    if not data and not name:
        ctx.skipped += 1
        return pieces
    if ctype.startswith("image/") and len(data) < ctx.min_attachment:
        ctx.skipped += 1  # tracking pixels, spacers, signature icons
        return pieces
    raw_cid = header_text(headers.get("content-id"), ctx, "content-id", words=False)
    cid = "".join(raw_cid.split()).strip("<>") or None
    location = one_line(header_text(headers.get("content-location"), ctx, "content-location"))
    ctx.attachments.append(Attachment(name, ctype, data, cid, location))
    return pieces


def _payload(part: Message, headers: dict[str, str], ctx: Ctx) -> bytes:
    """Decoded bytes of a leaf part; a broken transfer encoding yields what can be recovered."""
    cte = headers.get("content-transfer-encoding")
    if cte is not None:
        token = one_line(unfold(cte)).split(";")[0].strip().lower()
        if token != cte:
            # The stdlib compares the raw value, so "Base64 " or "base64; x" would go undecoded.
            part.replace_header("content-transfer-encoding", token)
    try:
        data = part.get_payload(decode=True)
    except Exception:
        ctx.defect("undecodable transfer encoding")
        data = b""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return data if isinstance(data, bytes) else b""


def _sniff_charset(data: bytes, ctype: str) -> str | None:
    if ctype != "text/html":
        return None
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def eml_name(data: bytes, ctx: Ctx) -> str:
    """The name `<subject>.eml` for a forwarded message, read from its own headers only."""
    end = data.find(b"\n\n")
    crlf = data.find(b"\r\n\r\n")
    cut = min(x for x in (end, crlf, 65_536) if x >= 0)
    try:
        head = BytesHeaderParser(policy=compat32).parsebytes(data[:cut])
        subject = next((v for k, v in head.raw_items() if k.lower() == "subject"), "")
    except Exception:
        subject = ""
    subject = one_line(header_text(subject, ctx, "forwarded subject"))
    return f"{subject}.eml" if subject else ""


def _delivery_status(blocks: list[Message], ctx: Ctx) -> None:
    """The parser splits message/delivery-status into header blocks; keep them as one text file."""
    text = "\n\n".join(
        "\n".join(f"{k}: {unfold(str(v))}" for k, v in block.raw_items()) for block in blocks
    )
    data = text.encode("utf-8", "surrogateescape")
    ctx.attachments.append(Attachment("delivery-status.txt", "message/delivery-status", data,
                                       None, ""))  # fmt: skip
