"""Whether a mail's From was verified by the receiving server (RFC 8601 Authentication-Results).

Anyone can write any From. A desk that trusts a `[#id]` subject token from the contact's
address (ids are sequential) would file a forged mail in the contact's conversation. Where the
mailbox's server checks DMARC/DKIM and records it (Microsoft 365, Gmail, any MTA running an
authentication milter), the channel names that server (`[reading] authserv_id`): only its
topmost Authentication-Results header is believed, as RFC 8601 section 5 asks, since a
sender can add such headers of its own below it.
"""

from __future__ import annotations

import re

from deskterm.mail.comments import strip_comments

_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)\b(.*)$", re.I | re.S)
_PROPERTY = re.compile(r"([a-z0-9_-]+\.[a-z0-9_-]+)\s*=\s*\"?([^\s\";]+)", re.I)


def sender_verified(header: str | None, authserv_id: str, from_domain: str) -> bool:
    """True when `header` (the topmost Authentication-Results) is from `authserv_id` and says
    the From domain passed DMARC, or passed DKIM with a signing domain aligned to it."""
    if not header or not from_domain:
        return False
    text = strip_comments(header)  # they carry nothing we read
    server, _, rest = text.partition(";")
    if server.lower().split()[:1] != [authserv_id.lower()]:  # "id" or "id version"
        return False
    domain = from_domain.lower()
    for resinfo in rest.split(";"):
        match = _RESULT.match(resinfo)
        if match is None:
            continue
        method, result, properties = match[1].lower(), match[2].lower(), match[3]
        if result != "pass":
            continue
        found = {k.lower(): v.lower() for k, v in _PROPERTY.findall(properties)}
        if method == "dmarc" and found.get("header.from", domain) == domain:
            return True
        signer = found.get("header.d") or found.get("header.i", "").rpartition("@")[2]
        aligned = domain == signer or ("." in signer and domain.endswith("." + signer))
        if method == "dkim" and aligned:  # relaxed alignment: the signer is From's domain or parent
            return True
    return False
