"""Bytes to text whatever charset a mail declares, along a fallback chain that never fails.

Real mail declares charsets that do not exist, mislabels UTF-8 as ISO-8859-1, omits or
mislabels ISO-2022-JP and sends Microsoft's extensions of it; each case falls back along a chain
(see `decode`) instead of failing, and a stray byte costs one character, not the whole field.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from deskterm.mail.parse.context import Ctx

_LATIN = "deskterm-latin"  # pseudo codec: windows-1252 where it defines a byte, latin-1 elsewhere
# Pseudo codec: UTF-8 where the bytes are UTF-8, `_LATIN` for each byte that is not. One stray
# byte (a cut filename, a latin-1 word pasted into a UTF-8 subject) then costs one character,
# not the whole field: all-or-nothing turned "Grüße" into "GrÃ¼ÃŸe" for one bad byte. Bytes
# with no valid multi-byte UTF-8 among them come out exactly as `_LATIN` reads them.
_UTF8_LATIN = "deskterm-utf8-latin"
# Pseudo codec: ISO-2022-JP as Microsoft writes it (CP50220-CP50222), see `_decode_cp5022x`.
_CP5022X = "deskterm-cp5022x"


def _latin_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Map the five bytes windows-1252 leaves undefined as latin-1 does, so decoding never fails."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(b) for b in exc.object[exc.start : exc.end]), exc.end


def _utf8_latin_fallback(exc: UnicodeError) -> tuple[str, int]:
    """The bytes UTF-8 could not decode, read as `_LATIN` reads them (for `_UTF8_LATIN`)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return bytes(exc.object[exc.start : exc.end]).decode("cp1252", "deskterm-latin1"), exc.end


codecs.register_error("deskterm-latin1", _latin_fallback)
codecs.register_error("deskterm-utf8-latin", _utf8_latin_fallback)

# Names that say "we don't know": decode as if nothing was declared.
_UNDECLARED = frozenset(
    {"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "none", "charset",
     "8bit", "7bit", "binary", "auto", "us"}
)  # fmt: skip
# The standard reading first; Microsoft's (row 13 and IBM kanji in ESC $ B) when it fails; the
# JIS X 0212/0213 and multilingual variants for the escapes Microsoft's reading does not know.
_JIS = ("iso2022_jp", _CP5022X, "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_3",
        "iso2022_jp_2")  # fmt: skip
_SJIS = ("cp932", "shift_jis_2004")
_ALIAS_GROUPS: dict[tuple[str, ...], tuple[str, ...]] = {
    # ISO-8859-1 and ASCII labels are windows-1252 in practice (as in every browser).
    (_LATIN,): (
        "us-ascii", "ascii", "ansi-x3.4-1968", "iso646-us", "iso-8859-1", "iso8859-1",
        "iso-8859-1:1987", "latin1", "latin-1", "l1", "windows-1252", "cp1252", "x-cp1252",
        "cp819", "ibm819", "iso-ir-100", "csisolatin1", "iso88591", "8859-1",
    ),
    # Japanese mail declares ISO-2022-JP and sends Microsoft's extensions (CP5022x).
    _JIS: (
        "iso-2022-jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3", "iso-2022-jp-2004",
        "iso-2022-jp-ext", "iso-2022-jp-ms", "csiso2022jp", "cp50220", "cp50221", "cp50222",
        "x-iso-2022-jp", "jis", "x-jis",
    ),
    _SJIS: (
        "shift-jis", "shift_jis", "sjis", "x-sjis", "s-jis", "ms-kanji", "csshiftjis",
        "windows-31j", "cp932", "ms932", "x-ms-cp932", "shift-jisx0213",
    ),
    ("euc_jp", "euc_jis_2004"): ("euc-jp", "x-euc-jp", "cseucpkdfmtjapanese", "eucjp"),
    ("gb18030",): (
        "gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "cn-gb", "csgb2312", "x-euc-cn",
        "gb-2312-80", "gb18030", "ms936", "windows-936", "chinese",
    ),
    ("cp950", "big5hkscs"): ("big5", "big-5", "cn-big5", "x-x-big5", "csbig5", "x-big5", "cp950"),
    ("cp949",): (
        "ks-c-5601-1987", "ks-c-5601", "euc-kr", "ksc5601", "korean", "x-windows-949",
        "windows-949", "cp949", "ks-c-5601-1989", "csksc56011987",
    ),
    ("cp874",): ("tis-620", "iso-8859-11", "windows-874", "x-windows-874"),
    ("iso8859_8",): ("iso-8859-8-i", "iso-8859-8-e", "logical", "visual"),
    ("iso8859_6",): ("iso-8859-6-i", "iso-8859-6-e"),
    ("mac_roman",): ("macintosh", "x-mac-roman", "mac", "csmacintosh"),
    ("mac_cyrillic",): ("x-mac-cyrillic", "x-mac-ukrainian"),
    ("utf-8",): ("utf8", "utf-8", "x-utf8", "x-utf-8", "unicode-1-1-utf-8", "unicode-2-0-utf-8"),
    ("utf-16",): ("unicode", "ucs-2", "csunicode", "iso-10646-ucs-2"),
}  # fmt: skip
_ALIASES = {name: chain for chain, names in _ALIAS_GROUPS.items() for name in names}
# Codecs that exist in Python but are not charsets a mail may use: they interpret backslashes or
# always fail, so a declared one is treated as unknown.
_NOT_CHARSETS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "mbcs", "oem"}
)
_CHARSET_NAME = re.compile(r"[a-z0-9][a-z0-9_.:+()-]{0,63}")
_SURROGATES = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=512)
def _charset_chain(name: str) -> tuple[tuple[str, ...], str]:
    """The codecs to try for a declared charset name, and a problem to note ('' if none)."""
    key = name.strip().strip("\"'").strip().lower().replace("_", "-")
    if not key or key in _UNDECLARED:
        return (), ""
    if key in _ALIASES:
        return _ALIASES[key], ""
    if not _CHARSET_NAME.fullmatch(key):
        return (), "bogus charset name"
    for candidate in (key, key.removeprefix("x-"), key.removeprefix("cs")):
        codec = _text_codec(candidate)
        if codec:
            return (codec,), ""
    return (), f"unknown charset {key!r}"


def _text_codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except Exception:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def decode(
    data: bytes, charset: str | None, ctx: Ctx | None, where: str, *, header: bool = False
) -> str:
    """Bytes to text along a fallback chain; never fails.

    Order: the declared charset, then UTF-8, then the declared charset with replacement, and
    windows-1252/latin-1 when nothing usable was declared. A declared ISO-8859-1/ASCII that is
    valid UTF-8 is taken as UTF-8 (multi-byte UTF-8 in genuine latin-1 text is vanishingly rare,
    the mislabel is common). Undeclared 8-bit header bytes try UTF-8 before the message's charset.
    Undeclared text holding a JIS escape (ESC $) is tried as the ISO-2022-JP family first.
    """
    chain, problem = _charset_chain(charset[:80]) if charset else ((), "")
    if problem and ctx:
        ctx.defect(f"{problem} in {where}")
    if not data:
        return ""
    if not chain or chain[0] == _LATIN:
        # A JIS double-byte escape is ASCII, so UTF-8 would "succeed": old Japanese mailers
        # omit or mislabel ISO-2022-JP.
        jis = _JIS if b"\x1b$" in data else ()
        candidates: tuple[str, ...] = (*jis, "utf-8", _UTF8_LATIN)
    elif header and chain != _JIS:
        candidates = ("utf-8", *chain)
    elif chain == _JIS and b"\x1b" in data:
        candidates = chain  # escapes are ASCII: UTF-8 would "succeed" and show them raw
    else:
        candidates = (*chain, "utf-8")
    for codec in candidates:
        try:
            text = _decode_with(data, codec)
        except Exception:  # any codec may choke on hostile bytes; the next one is tried
            continue
        if codec == _UTF8_LATIN and ctx and text != _decode_with(data, _LATIN):
            ctx.defect(f"invalid UTF-8 bytes in {where} read as windows-1252")
        return _no_surrogates(text)
    if ctx:
        ctx.defect(f"bytes invalid in {chain[0]} in {where}")
    # The last resort still repairs per character, never the whole field at once.
    if chain[0] == "utf-8":
        return _no_surrogates(_decode_with(data, _UTF8_LATIN))
    if chain == _JIS:
        return _decode_cp5022x(data, strict=False)
    try:
        return _no_surrogates(data.decode(chain[0], "replace"))
    except Exception:
        return _decode_with(data, _LATIN)


def _decode_with(data: bytes, codec: str) -> str:
    if codec == _LATIN:
        return data.decode("cp1252", "deskterm-latin1")
    if codec == _UTF8_LATIN:
        return data.decode("utf-8", "deskterm-utf8-latin")
    if codec == _CP5022X:
        return _decode_cp5022x(data, strict=True)
    return data.decode(codec)


# ISO-2022-JP escape sequences: the ones Microsoft's CP5022x write, each with what follows it.
_JIS_ESCAPE = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B|\$\(B|\$\(@)|[\x0e\x0f]")
_JIS_ANY_ESCAPE = re.compile(rb"\x1b[\x20-\x2f]*[\x30-\x7e]?")
_JIS_MODES = {b"(B": "ascii", b"(J": "ascii", b"(I": "kana", b"$@": "kanji", b"$B": "kanji",
              b"$(B": "kanji", b"$(@": "kanji"}  # fmt: skip


def _decode_cp5022x(data: bytes, *, strict: bool) -> str:
    """ISO-2022-JP as Outlook and Windows write it: JIS X 0208 plus NEC row 13 (①, №, ㈱) and
    the IBM kanji (髙, 﨑) inside the same ESC $ B, and half-width katakana by ESC ( I or SO/SI.

    Python has no CP5022x codec, and its ISO-2022-JP family refuses those characters (they are
    not in JIS X 0208), so ㈱ in a company name came out as raw escape bytes. Shift_JIS is an
    arithmetic rearrangement of the same JIS rows and cells, and cp932 holds Microsoft's rows:
    each double-byte run is rearranged to Shift_JIS and decoded as cp932. Strict mode raises
    UnicodeDecodeError on any escape or byte it does not know, so the next codec is tried;
    lenient mode (the last resort) drops unknown escapes and replaces bad characters.
    """
    out: list[str] = []
    mode = "ascii"
    shifted = False  # SO/SI: half-width katakana in CP50222
    pos = 0
    length = len(data)
    while pos < length:
        match = _JIS_ESCAPE.search(data, pos)
        end = match.start() if match else length
        if end > pos:
            out.append(_jis_run(data[pos:end], "kana" if shifted else mode, strict))
        if not match:
            break
        token = match.group(0)
        if token == b"\x0e":
            shifted = True
        elif token == b"\x0f":
            shifted = False
        else:
            mode = _JIS_MODES[match.group(1)]
        pos = match.end()
    return "".join(out)


@lru_cache(maxsize=1)
def _jis_to_sjis() -> dict[bytes, bytes]:
    """Every JIS row/cell pair as its Shift_JIS bytes: a table lookup per character keeps a
    long body quick, where arithmetic per character in Python would not be."""
    table = {}
    for row in range(0x21, 0x7F):
        lead = (row - 0x21) // 2 + 0x81
        lead += 0x40 if lead > 0x9F else 0
        for cell in range(0x21, 0x7F):
            trail = cell + (0x1F if cell < 0x60 else 0x20) if row % 2 else cell + 0x7E
            table[bytes((row, cell))] = bytes((lead, trail))
    return table


_KANA_TO_SJIS = bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in range(256))


def _jis_run(run: bytes, mode: str, strict: bool) -> str:
    """One run of bytes between escapes in `mode`, decoded as `_decode_cp5022x` explains."""
    if b"\x1b" in run:  # an escape sequence Microsoft's reading does not know
        if strict:
            at = run.index(b"\x1b")
            raise UnicodeDecodeError(_CP5022X, run, at, at + 1, "unknown escape")
        run = _JIS_ANY_ESCAPE.sub(b"", run)
    if mode == "ascii":
        if strict and not run.isascii():
            raise UnicodeDecodeError(_CP5022X, run, 0, len(run), "8-bit byte")
        return run.decode("ascii", "replace")
    if mode == "kana":
        return run.translate(_KANA_TO_SJIS).decode("cp932", "strict" if strict else "replace")
    usable = len(run) - len(run) % 2
    table = _jis_to_sjis()
    pairs = [table.get(run[index : index + 2]) for index in range(0, usable, 2)]
    if strict and None in pairs:
        index = pairs.index(None) * 2
        raise UnicodeDecodeError(_CP5022X, run, index, index + 2, "not a JIS pair")
    sjis = bytearray(b"".join(pair or b"?" for pair in pairs))
    if usable < len(run):
        if strict:
            raise UnicodeDecodeError(_CP5022X, run, usable, len(run), "half a character")
        sjis += b"?"
    return bytes(sjis).decode("cp932", "strict" if strict else "replace")


def _no_surrogates(text: str) -> str:
    """UTF-7 and friends can produce lone surrogates, which no database or terminal accepts."""
    if not text.isascii() and _SURROGATES.search(text):
        return _SURROGATES.sub("\ufffd", text)
    return text
