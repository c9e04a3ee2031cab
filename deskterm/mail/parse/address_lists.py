"""Address headers (From, To, Cc, Reply-To) as (display name, address) pairs.

What is an address is decided by the desk's one rule, `deskterm.mail.addresses`: this module
only finds the candidates in what mailers send, quickly for the common shapes and with the
stdlib's parser for the rest, and keeps those the rule accepts.
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from deskterm.mail import addresses
from deskterm.mail.parse.context import Ctx
from deskterm.mail.parse.headers import decode_words, header_text, one_line
from deskterm.mail.parse.limits import MAX_ADDRESSES, MAX_HEADER_CHARS

# What can stand around an address in the plain search (`_address_like`).
_NOT_IN_ADDRESS = re.compile(r"[\s<>\"(),;:\[\]]+")

# The common shapes of an address list, read without the stdlib's character-by-character
# parser (a third of header parsing): `a@b`, `Name <a@b>`, `<a@b>`, separated by commas. Anything
# else (quotes, comments, groups, routes, unusual characters) goes to `getaddresses`.
_PLAIN_ADDRESS = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
# Possessive (`*+`): the name's spaces and the blanks around it are read once, never handed
# back and forth (a lazy name before `\s*<` made a run of 60,000 spaces cost seconds).
_SIMPLE_MAILBOX = re.compile(
    rf"\s*+(?:(?P<bare>{_PLAIN_ADDRESS})|(?P<name>[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~. -]*+)"
    rf"\s*<(?P<angle>{_PLAIN_ADDRESS})>)\s*"
)


def simple_addresses(text: str) -> list[tuple[str, str]] | None:
    """What `getaddresses([text])` returns, for the common shapes only; None otherwise."""
    pairs = []
    for piece in text.split(","):
        match = _SIMPLE_MAILBOX.fullmatch(piece)
        if match is None:
            return None
        if match["bare"]:
            pairs.append(("", match["bare"]))
        else:
            pairs.append((" ".join(match["name"].split()), match["angle"]))
    return pairs


def _address_like(text: str) -> list[str]:
    """The runs of `text` between blanks, brackets, quotes and separators with an `@` inside
    them (not first, not last): what `[^...]+@[^...]+` finds, in one pass. The regex tried
    every start of a long run without an `@` to its end: a 64,000-character To took seconds,
    and a mail may carry a hundred of them."""
    return [run for run in _NOT_IN_ADDRESS.split(text) if "@" in run[1:-1]]


def address_list(values: list[str], ctx: Ctx, where: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs; display names decoded after splitting."""
    found: list[tuple[str, str]] = []
    read = 0  # characters of this header read so far, all its values together
    for value in values:
        if read >= MAX_HEADER_CHARS:  # a hundred long To headers cost as much as one
            ctx.defect(f"{where} headers past {MAX_HEADER_CHARS} characters ignored")
            break
        read += len(value)
        text = header_text(value, ctx, where, words=False)
        pairs = simple_addresses(text)
        if pairs is None:
            try:
                pairs = getaddresses([text])
            except Exception:  # the stdlib recurses on nested comments and raises on some junk
                ctx.defect(f"unparseable {where} header")
                pairs = []
        # Only what `addresses.valid` accepts is an address: anything else (an empty local
        # part, a second @, controls) could neither be answered nor shown safely.
        good = [
            (one_line(decode_words(name, ctx, where)), address)
            for name, address in ((n, addresses.normal(a).strip("<>")) for n, a in pairs)
            if addresses.valid(address)
        ]
        if not good:
            found_like = (addresses.normal(a) for a in _address_like(text))
            good = [("", address) for address in found_like if addresses.valid(address)]
        found.extend(good)
        if len(found) >= MAX_ADDRESSES:
            return found[:MAX_ADDRESSES]
    return found


def unique_addresses(pairs: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(address for _, address in pairs))


def sender(values: list[str], ctx: Ctx) -> tuple[str, str]:
    """(address, display name) of the first From; the raw text as name when there is no address.

    A From that holds several addresses (`tim@x.com concierge@x.com`, or a list of authors)
    is the first of them, noted: the sender is one person, and taking anything else (the
    stdlib reads that From as `@x.com`) merged different people into one contact.
    """
    if not values:
        return "", ""
    pairs = address_list(values[:1], ctx, "from")
    if len(pairs) > 1:
        ctx.defect(f"From holds {len(pairs)} addresses; the first, {pairs[0][1]}, is the sender")
    if pairs:
        return pairs[0][1], pairs[0][0]
    return "", one_line(header_text(values[0], ctx, "from"))
