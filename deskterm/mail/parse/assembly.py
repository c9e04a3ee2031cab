"""`parse`: one raw message read whole into a `ParsedMail`, and never an exception.

Whatever cannot be read is repaired and noted in `defects`; a MIME structure the stdlib cannot
walk is read again for its headers alone, and as a last resort the raw bytes are the text.
"""

from __future__ import annotations

from email.parser import Parser
from email.policy import compat32

from deskterm.mail import html_text
from deskterm.mail.message_ids import id_list
from deskterm.mail.parse import fields
from deskterm.mail.parse.address_lists import address_list, sender, unique_addresses
from deskterm.mail.parse.bodies import compose_body, truncate, with_marker
from deskterm.mail.parse.charsets import decode
from deskterm.mail.parse.context import Ctx
from deskterm.mail.parse.dedup import content_key
from deskterm.mail.parse.headers import header_text, one_line, params
from deskterm.mail.parse.mime import Part, Piece, content_type, walk
from deskterm.mail.parse.names import name_attachments
from deskterm.mail.parse.parsed import ParsedMail
from deskterm.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MIN_ATTACHMENT_BYTES


def parse(
    raw: bytes,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    min_attachment_bytes: int = DEFAULT_MIN_ATTACHMENT_BYTES,
    headers: tuple[str, ...] = (),
) -> ParsedMail:
    """Parse one raw message. Never raises on any bytes: a sync must not stop on one bad mail.

    `headers`: names of headers to keep besides the desk's own (`mapped_headers`), so that a
    channel's mappings read them at ingest without reading the raw mail back.
    A top-level function so a process pool can pickle it. Passing something that is not bytes
    is a programming error and raises TypeError.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse() needs the raw message as bytes, not {type(raw).__name__}")
    data = bytes(raw)
    limit = max(0, int(max_body_bytes))
    min_att = max(0, int(min_attachment_bytes))
    try:
        return _parse(data, limit, min_att, headers, headers_only=False)
    except Exception as exc:  # e.g. RecursionError from absurdly nested MIME
        failure = f"MIME structure unreadable ({type(exc).__name__}); body shown as plain text"
    try:
        mail = _parse(data, limit, min_att, headers, headers_only=True)
        mail.defects.insert(0, failure)
        return mail
    except Exception as exc:
        return _unparsed(data, limit, f"unparseable message ({type(exc).__name__})")


def _parse(
    raw: bytes, limit: int, min_att: int, names: tuple[str, ...], *, headers_only: bool
) -> ParsedMail:
    text = raw.decode("ascii", "surrogateescape")  # as BytesParser does
    msg = Parser(_class=Part, policy=compat32).parsestr(text, headersonly=headers_only)
    ctx = Ctx(min_attachment=min_att)
    headers = fields.header_lists(msg)
    _, top_params = params(headers.get("content-type", [""])[0], ctx, "content-type")
    ctx.hint = top_params.get("charset")
    ctype = content_type(msg, ctx)

    pieces: list[Piece]
    if headers_only:
        payload = msg.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        pieces = [Piece(plain=decode(data, ctx.hint, ctx, "body"))]
    else:
        pieces = walk(msg, 0, ctx)
    htmls = [piece.html for piece in pieces if piece.html is not None]
    body = compose_body(pieces, limit, ctx)

    from_addr, from_name = sender(headers.get("from", []), ctx)
    reply_to = address_list(headers.get("reply-to", [])[:1], ctx, "reply-to")
    subject = one_line(header_text(fields.first(headers, "subject"), ctx, "subject"))
    date_raw = one_line(header_text(fields.first(headers, "date"), ctx, "date", words=False))
    message_id = fields.message_id(fields.first(headers, "message-id"), ctx)
    in_reply_to = id_list(
        header_text(fields.first(headers, "in-reply-to"), ctx, "in-reply-to", words=False)
    )
    kept = fields.kept_headers(headers, ctype, ctx)
    return ParsedMail(
        message_id=message_id,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=fields.references(
            header_text(fields.first(headers, "references"), ctx, "references", words=False)
        ),
        from_addr=from_addr,
        from_name=from_name,
        to=unique_addresses(address_list(headers.get("to", []), ctx, "to")),
        cc=unique_addresses(address_list(headers.get("cc", []), ctx, "cc")),
        reply_to=reply_to[0][1] if reply_to else None,
        subject=subject,
        date=fields.parse_date(date_raw, ctx),
        text=body.text,
        html=body.html,
        attachments=name_attachments(ctx.attachments, "\n".join(htmls)),
        skipped_attachments=ctx.skipped,
        headers=kept,
        priority=fields.priority(kept),
        dedup_key=content_key(raw),
        size=len(raw),
        truncated=body.truncated,
        defects=list(ctx.defects),
        remote_images=html_text.count_remote_images(body.html) if body.html else 0,
        text_format=body.text_format,
        mapped_headers=fields.mapped_headers(headers, names),
    )


def _unparsed(raw: bytes, limit: int, defect: str) -> ParsedMail:
    """The last resort: the raw bytes as text, deduplicated on a hash of the bytes themselves."""
    try:
        text = html_text.normalise_newlines(decode(raw, None, None, "message"))
        text, cut = truncate(text, limit)
        text = with_marker(text, cut) if cut else text
    except Exception:
        text, cut = "", 0
    return ParsedMail(
        message_id=None, in_reply_to=None, references=[], from_addr="", from_name="", to=[],
        cc=[], reply_to=None, subject="", date=None, text=text, html=None, attachments=[],
        skipped_attachments=0, headers={}, priority="normal",
        dedup_key=content_key(raw), size=len(raw), truncated=bool(cut), defects=[defect],
        remote_images=0,
    )  # fmt: skip
