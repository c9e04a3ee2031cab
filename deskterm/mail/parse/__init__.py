"""Turn the raw bytes of one email into plain data the desk can store, thread and show.

Every byte of a mail is hostile, so `parse` never raises: whatever it cannot read it repairs,
notes in `defects` and carries on, and as a last resort it returns what the headers alone give.
The raw message is never touched here; the caller stores it and can re-parse it later.

Why it is built this way:
- The stdlib parser with `policy.compat32` and our own header decoding: `policy.default` took
  10-17 s per 10,000 messages here against about 4 s, and raises on some malformed headers.
- Header and charset decoding are our own (see `charsets.decode`) because real mail declares
  charsets that do not exist, mislabels UTF-8 as ISO-8859-1, splits UTF-8 characters across
  encoded words and puts raw 8-bit bytes in headers; each case falls back along a chain instead
  of failing.
- Nested `message/rfc822` parts are kept as the bytes that were sent (see `mime.Part`), so the
  attachment a customer forwarded is exactly the mail they forwarded.
- Bodies are capped at `max_body_bytes` before any HTML conversion, so a 5 MB newsletter or an
  HTML body with thousands of links costs the same bounded time as a small one.
- Nothing here sanitises for display: Rich markup and escape sequences stay as data, and the one
  display sanitiser (see STYLE.md) strips them before anything reaches the terminal.

The modules, each importing only those listed before it: `limits` (the bounds), `context` (the
state of one parse), `charsets`, `headers` (header values and MIME parameters), `address_lists`
and `fields` (what the desk reads from the headers), `mime` (the walk), `parsed` (the result
types), `names` (attachment names), `bodies` (the text shown), `dedup` (the dedup key) and
`assembly` (`parse` itself). What a Message-ID is, and what an address is, are the desk's rules
in `deskterm.mail.message_ids` and `deskterm.mail.addresses`; the body and attachment limits an
operator sets are read by deskterm.settings (`parse_limits`) and passed to `parse`.
"""

from deskterm.mail.parse.assembly import parse
from deskterm.mail.parse.bodies import TRUNCATION_MARKER
from deskterm.mail.parse.dedup import content_key
from deskterm.mail.parse.parsed import ParsedAttachment, ParsedMail

__all__ = [
    "TRUNCATION_MARKER",
    "ParsedAttachment",
    "ParsedMail",
    "content_key",
    "parse",
]
