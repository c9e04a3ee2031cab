"""The MIME tree of a well-formed message, found with string searches instead of a line loop.

The stdlib's feed parser reads every line of a message in Python and compiles a regular
expression per boundary. Measured here on the benchmark mailbox (10,000 messages, 4 % with
100-300 KB PDFs), that is 3.4 of the 6 CPU-seconds of parsing, most of it spent walking the
lines of base64 attachments. Well-formed mail does not need it: headers end at the first empty
line and parts end at their boundary lines, which `str.find` locates at C speed.

`build` returns the same `Message` tree the feed parser builds (headers, payloads, defaults),
and None for anything irregular: a header block with mixed line endings or a line the stdlib
flags, a missing or repeated boundary, an empty part. A delivery report's status part is a few
lines the feed parser splits its own way: it reads that part alone. The caller then uses
the feed parser, which knows every repair. tests/test_mime_tree.py checks the two agree.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import Parser
from email.policy import compat32
from itertools import pairwise

MAX_DEPTH = 32  # deeper nesting is left to the feed parser (and the caller's own limit)
_PADDING = " \t"
_HEADER_NAME = re.compile(r"[\041-\071\073-\176]+:")  # the feed parser's, without `From `


def build(text: str, factory: type[Message]) -> Message | None:
    """The tree of `text` (a message decoded as ASCII with surrogateescape), or None."""
    newline = text.find("\n")
    eol = "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"
    return _Builder(factory, eol).part(text, 0, len(text), None, 0)


def _chomp(text: str) -> str:
    """Without its final line break, of any kind (the feed parser's `NLCRE_eol`)."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\r", "\n")) else text


class _Builder:
    def __init__(self, factory: type[Message], eol: str) -> None:
        self.factory = factory
        self.eol = eol
        self.blank = eol + eol

    def part(
        self,
        text: str,
        start: int,
        end: int,
        parent: Message | None,
        depth: int,
        digest: bool = False,
    ) -> Message | None:
        """The part in text[start:end]; for a subpart, end is the start of the boundary line."""
        if depth > MAX_DEPTH or start >= end:
            return None
        eol = self.eol
        msg = self.factory(policy=compat32)
        if text.startswith(eol, start):
            body = start + len(eol)
        else:
            cut = text.find(self.blank, start, end)
            head_end = end if cut < 0 else cut + len(eol)
            body = end if cut < 0 else cut + len(self.blank)
            if not self.headers(msg, text[start:head_end]):
                return None
        if digest:
            msg.set_default_type("message/rfc822")
        ctype = msg.get_content_type()
        if ctype == "message/delivery-status":
            return self.delivery_status(text[start:end], parent)
        if not ctype.startswith("multipart/"):
            payload = text[body:end] if body < end else ""
            if parent is not None:
                payload = _chomp(payload)  # the line break before a boundary is its own
            msg.set_payload(payload)
            return msg
        return self.multipart(msg, ctype, text, min(body, end), end, parent, depth)

    def delivery_status(self, segment: str, parent: Message | None) -> Message | None:
        """A delivery report's blocks of headers, which the feed parser splits its own way: it
        reads this part alone (a few lines; the boundary lines around it are cut off already).

        Inside a multipart it then drops the last line break of the newest message it made,
        the last block, as it does for any part: done here too, for plain blocks only.
        """
        msg = Parser(_class=self.factory, policy=compat32).parsestr(segment)
        if parent is None:
            return msg
        blocks = msg.get_payload()
        if not isinstance(blocks, list) or not blocks:
            return None
        if any(not isinstance(b, Message) or b.is_multipart() for b in blocks):
            return None
        last = blocks[-1]
        if not isinstance(last._payload, str):  # raw, as get_payload() would re-decode 8-bit
            return None
        last._payload = _chomp(last._payload)
        return msg

    def headers(self, msg: Message, block: str) -> bool:
        """Add the header lines of `block` to msg as the feed parser would; False if irregular.

        Values are kept raw, as compat32 keeps them: the first line's value without leading
        blanks, continuation lines with their line breaks, the final line break dropped.
        """
        eol = self.eol
        if eol == "\r\n":
            crlf = block.count("\r\n")
            uniform = block.count("\r") == crlf == block.count("\n")
        else:
            uniform = "\r" not in block
        if not uniform:
            return False  # line breaks of another kind: the header lines are not what they seem
        lines = block.split(eol)
        if lines[-1] == "":
            lines.pop()
        # compat32's header_source_parse, inlined (a first sync reads 100,000 headers):
        # `name: value` with the value's leading blanks dropped, continuation lines joined
        # with their line breaks, the final line break dropped.
        headers = msg._headers  # what Message.set_raw appends to
        name: str | None = None
        value: list[str] = []
        for index, line in enumerate(lines):
            if line[:1] in _PADDING:
                if name is None:
                    return False  # the first line is a continuation
                value.append(line)
                continue
            if name is not None:
                headers.append((name, eol.join(value).rstrip("\r\n")))
                name = None
            if line.startswith("From "):
                if index:
                    return False  # an envelope line among the headers
                msg.set_unixfrom(line)
                continue
            if not _HEADER_NAME.match(line):
                return False  # not a header: the feed parser takes it for the body
            name, first = line.split(":", 1)
            value = [first.lstrip(" \t")]
        if name is not None:
            headers.append((name, eol.join(value).rstrip("\r\n")))
        return True

    def multipart(
        self,
        msg: Message,
        ctype: str,
        text: str,
        start: int,
        end: int,
        parent: Message | None,
        depth: int,
    ) -> Message | None:
        boundary = msg.get_boundary()
        cte = str(msg.get("content-transfer-encoding", "8bit")).lower()
        if not boundary or cte not in ("7bit", "8bit", "binary"):
            return None
        lines = self.boundary_lines(text, start, end, "--" + boundary)
        if len(lines) < 2 or lines[-1][2] is False or any(close for _, _, close in lines[:-1]):
            return None  # no part, no closing boundary, or parts after it
        digest = ctype == "multipart/digest"  # its parts are messages unless they say otherwise
        first = lines[0][0]
        if first > start:
            preamble = text[start:first]
            msg.preamble = _chomp(preamble)
        for (_, after, _), (next_start, _, _) in pairwise(lines):
            child = self.part(text, after, next_start, msg, depth + 1, digest)
            if child is None:
                return None
            msg.attach(child)
        epilogue = text[lines[-1][1] : end]
        if parent is not None:  # as for a leaf's payload, the last line break is the boundary's
            epilogue = _chomp(epilogue)
            epilogue = epilogue if text[lines[-1][1] : end] else None
        msg.epilogue = epilogue
        return msg

    def boundary_lines(
        self, text: str, start: int, end: int, separator: str
    ) -> list[tuple[int, int, bool | None]]:
        """(line start, end after its line break, is closing) of each boundary line in range.

        A boundary line is the separator at the start of a line, optionally `--`, optional
        spaces or tabs, then the line break or the end of the text. Like the feed parser,
        any of CRLF, LF and a bare CR ends a line here, whatever the message mostly uses.
        """
        found: list[tuple[int, int, bool | None]] = []
        pos = start
        while pos < end:
            hit = text.find(separator, pos, end)
            if hit < 0:
                break
            pos = hit + len(separator)
            if hit != start and text[hit - 1] not in "\r\n":
                continue  # not at the start of a line
            close = text.startswith("--", pos, end)
            tail = pos + 2 if close else pos
            while tail < end and text[tail] in _PADDING:
                tail += 1
            if tail == end:
                line_end = end
            elif text.startswith("\r\n", tail, end):
                line_end = tail + 2
            elif text[tail] in "\r\n":
                line_end = tail + 1
            else:
                continue
            found.append((hit, line_end, close))
            pos = line_end
            if close:
                break
        return found
