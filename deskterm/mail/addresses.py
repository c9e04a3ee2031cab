"""Email addresses: one rule for what counts as a mailbox, and its forms on the wire.

Every address deskterm keeps or writes passes `valid()`: a dot-atom local part and a domain of
two or more labels, nothing else. Quoted local parts, routes, groups, empty local parts,
controls, bidi and format characters are refused, so a stranger's From cannot become a contact
that cannot be answered, an address that stops a batch when a reply is built, or text that
drives the terminal. Non-ASCII is allowed where RFC 6531/6532 allow it (letters, marks and
digits): the domain is sent IDNA-encoded, a non-ASCII local part needs the server's SMTPUTF8.
"""

from __future__ import annotations

import re
import string
import unicodedata
from email.header import Header
from email.utils import getaddresses

from deskterm.sanitize import one_line

MAX_ADDRESS_CHARS = 254  # RFC 5321's path limit, less the brackets
MAX_NAME_CHARS = 200

_LABEL_ASCII = frozenset(string.ascii_letters + string.digits + "-")
_ATEXT = _LABEL_ASCII | frozenset("!#$%&'*+/=?^_`{|}~")  # RFC 5322 atext
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Printable ASCII a display name may hold without being quoted (RFC 5322 atext and space).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")


def valid(address: str) -> bool:
    """Whether `address` (bare, no brackets) is one mailbox deskterm can store and answer.

    Checked by hand rather than with one regular expression over every code point: that
    expression took 13 ms to compile, paid by every `deskterm` command at start-up.
    """
    if len(address) > MAX_ADDRESS_CHARS or address.count("@") != 1:
        return False
    local, _, domain = address.partition("@")
    labels = domain.split(".")
    if len(labels) < 2 or not all(local.split(".")) or not all(labels):
        return False
    if not all(c == "." or c in _ATEXT or _wide(c) for c in local):
        return False
    for label in labels:
        if label[0] == "-" or label[-1] == "-":
            return False
        if not all(c in _LABEL_ASCII or _wide(c) for c in label):
            return False
    if not domain.isascii():
        try:
            ascii_domain(domain)
        except UnicodeError:
            return False
    return True


def _wide(char: str) -> bool:
    """Beyond ASCII only letters, marks and digits: no spaces, controls, bidi or fillers
    (the Hangul fillers are letters to Unicode, and invisible)."""
    return ord(char) >= 0xA0 and char not in _FILLERS and unicodedata.category(char)[0] in "LMN"


_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")


def normal(address: str) -> str:
    """The stored form: lower case (deskterm treats addresses case-insensitively, as people
    do), and the domain in the one form IDNA sends it as: `ｅxample.com` (fullwidth) and
    `example.com` are the same mailbox on the wire, so they must be one contact, one rate
    limit and one own address here too."""
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        domain = ascii_domain(domain).encode("ascii").decode("idna")
    except UnicodeError:
        return address  # not a valid domain: valid() refuses it
    return f"{local}@{domain}"


def parse_one(text: str) -> tuple[str, str] | None:
    """(display name, address) when `text` is exactly one valid mailbox, else None.

    `Name <a@b>` and `a@b` are accepted; anything that re-parses to several addresses, to a
    group, to an address with an empty local part or a second `@`, is not an address.
    """
    if not isinstance(text, str) or _NAME_UNSAFE.search(text):
        return None
    try:
        pairs = getaddresses([text])
    except Exception:  # the stdlib recurses on nested comments and raises on some junk
        return None
    if len(pairs) != 1:
        return None
    name, address = pairs[0]
    address = normal(address)
    if not valid(address) or text.count("@") - name.count("@") != 1:
        return None
    return display_name(name), address


def display_name(name: str) -> str:
    """A display name as one plain line (the one sanitiser), its length capped."""
    return one_line(name)[:MAX_NAME_CHARS]


def ascii_domain(domain: str) -> str:
    """The domain as sent on the wire (IDNA); raises UnicodeError when it has no such form."""
    if domain.isascii():
        return domain
    return domain.encode("idna").decode("ascii")


def needs_smtputf8(address: str) -> bool:
    """A non-ASCII local part can only be sent where the server offers SMTPUTF8."""
    return not address.rpartition("@")[0].isascii()


def envelope(address: str) -> str:
    """The address for MAIL FROM / RCPT TO: IDNA domain, local part as it is."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def header_form(name: str, address: str) -> str:
    """`name <address>` for a header, built by us so no parser can re-read it as structure.

    A name that is not plain ASCII text (non-ASCII, specials, or "=?" that a reader would
    decode) is written as RFC 2047 encoded words; the domain is IDNA-encoded.
    """
    name = display_name(name)
    wire = envelope(address)
    if not name:
        return wire
    if _PLAIN_NAME.fullmatch(name) and "=?" not in name:
        return f"{name} <{wire}>"
    encoded = Header(name, "utf-8").encode(linesep="\r\n").replace("\r\n", "")
    return f"{encoded} <{wire}>"
