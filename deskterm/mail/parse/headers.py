"""Header values as text: unfolding, 8-bit bytes, RFC 2047 encoded words, MIME parameters.

Every reading forgives the usual mistakes (encoded words split inside a character, junk in
base64, raw 8-bit bytes, RFC 2231 continuations) instead of failing on them.
"""

from __future__ import annotations

import binascii
import re
from urllib.parse import unquote_to_bytes

from deskterm.mail.parse.charsets import decode
from deskterm.mail.parse.context import Ctx
from deskterm.mail.parse.limits import MAX_HEADER_CHARS

_LINE_BREAKS = re.compile(r"\r\n|\n|\r")
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def unfold(value: str) -> str:
    """RFC 5322 unfolding; a stray line break inside a header is dropped as well."""
    if "\n" in value or "\r" in value:
        return _LINE_BREAKS.sub("", value)
    return value


def one_line(text: str) -> str:
    """Every run of whitespace as one space (not a sanitiser: see deskterm.sanitize)."""
    return " ".join(text.split())


def header_text(value: str | None, ctx: Ctx | None, where: str, *, words: bool = True) -> str:
    """A raw header value (8-bit bytes kept as surrogates by the parser) as readable text."""
    if not value:
        return ""
    if len(value) > MAX_HEADER_CHARS:
        value = value[:MAX_HEADER_CHARS]
        if ctx:
            ctx.defect(f"{where} header cut at {MAX_HEADER_CHARS} characters")
    value = unfold(value)
    if not value.isascii() or "\x1b$" in value:
        raw = value.encode("utf-8", "surrogateescape")
        value = decode(raw, ctx.hint if ctx else None, ctx, f"{where} (8-bit)", header=True)
    return decode_words(value, ctx, where) if words else value


def decode_words(text: str, ctx: Ctx | None, where: str) -> str:
    """Decode RFC 2047 encoded words, forgiving the usual mistakes.

    Adjacent words in the same charset are joined as bytes before decoding, because mailers split
    multi-byte characters across them; whitespace between encoded words is dropped (RFC 2047).
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    word = bytearray()  # the bytes of the encoded word(s) being joined
    word_charset = ""
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        literal = text[pos : match.start()]
        charset, payload = match.group(1), _word_bytes(match.group(2), match.group(3))
        adjacent = bool(word_charset) and (not literal or literal.isspace())
        if adjacent and charset.lower() == word_charset.lower():
            word += payload
        else:
            if word_charset:
                out.append(decode(bytes(word), word_charset, ctx, where))
            if not adjacent:
                out.append(literal)
            word, word_charset = bytearray(payload), charset
        pos = match.end()
    if word_charset:
        out.append(decode(bytes(word), word_charset, ctx, where))
    out.append(text[pos:])
    return "".join(out)


def _word_bytes(encoding: str, payload: str) -> bytes:
    if encoding in "qQ":
        data = payload.encode("utf-8", "surrogateescape").replace(b"_", b" ")
        return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    return _lenient_b64(payload)


def _lenient_b64(payload: str) -> bytes:
    """Base64 that ignores junk characters and repairs padding instead of failing."""
    clean = _NOT_BASE64.sub("", payload)
    if len(clean) % 4 == 1:
        clean = clean[:-1]
    clean += "=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:
        return b""


# --------------------------------------------------------------------------- parameters

_PARAM = re.compile(r';\s*([^\s=;"]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"?|[^;]*))?', re.S)
_QUOTED_PAIR = re.compile(r'\\([\\"])')


def params(raw: str | None, ctx: Ctx, where: str) -> tuple[str, dict[str, str]]:
    """(lower-case main value, decoded parameters) of Content-Type / Content-Disposition.

    Handles quoted strings, RFC 2231 `name*=charset''...` with continuations, encoded words
    inside quoted values (not standard, sent by many clients) and raw 8-bit bytes.
    """
    if not raw:
        return "", {}
    raw = unfold(raw[:MAX_HEADER_CHARS])
    main, _, rest = raw.partition(";")
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    for match in _PARAM.finditer(";" + rest):
        name = match.group(1).lower()
        value = (match.group(2) or "").strip()
        if value.startswith('"'):
            value = _QUOTED_PAIR.sub(r"\1", value[1:].removesuffix('"'))
        encoded = name.endswith("*")
        base, _, index = name.rstrip("*").partition("*")
        if encoded or index:
            if index and not (index.isdigit() and len(index) <= 3):
                continue
            extended.setdefault(base, {}).setdefault(int(index or 0), (encoded, value))
        else:
            plain.setdefault(name, value)
    result = {name: one_line(header_text(value, ctx, where)) for name, value in plain.items()}
    for name, pieces in extended.items():
        result[name] = one_line(_rfc2231(pieces, ctx, where)) or result.get(name, "")
    return main.strip().lower(), result


def _rfc2231(pieces: dict[int, tuple[bool, str]], ctx: Ctx, where: str) -> str:
    charset = None
    chunks = []
    order = sorted(pieces)
    for index in order:
        encoded, value = pieces[index]
        if index == order[0] and encoded and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        raw = value.encode("utf-8", "surrogateescape")
        chunks.append(unquote_to_bytes(raw) if encoded else raw)
    text = decode(b"".join(chunks), charset or None, ctx, where, header=not charset)
    return text if charset else decode_words(text, ctx, where)
