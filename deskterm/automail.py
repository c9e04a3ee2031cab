"""Is this mail from a machine, and does the channel want it at all?

Auto-acknowledging an auto-reply is how mail loops start (FACTS.md "Loops": FreeScout #4143 sent
8,000 mails), so every rule of FACTS.md "Automated mail" is here, and each answers with the
*reason* it matched: the agent sees why a mail was not acknowledged or not ingested, and a wrong
rule is easy to spot. Both functions only read an already parsed mail; they never raise on
whatever a hostile sender put in the headers.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from deskterm.compose import MESSAGE_ID_PREFIX
from deskterm.mailparse import ParsedMail

_PRECEDENCE_AUTOMATED = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_AUTOREPLY_PRESENT = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
)
_SUPPRESS_TOKENS = frozenset({"all", "autoreply", "oof"})
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "feedback-id")
_COMMENT = re.compile(r"\([^()]*\)")
_BOUNCE_SENDERS = {"mailer-daemon": "bounce: mailer-daemon", "postmaster": "bounce: postmaster"}


def automated_reason(mail: ParsedMail, own_addresses: Iterable[str] = ()) -> str | None:
    """Why `mail` was sent by a machine (first rule that matches), or None for human mail.

    Loop rules come first: a mail we sent ourselves is the most dangerous one to answer. Our
    own mail is recognised by its sender, or by a Message-ID of the shape we generate on the
    domain of one of our addresses (a copy of our reply that came back through a forward or a
    list). A colleague's mail from our domain has an ordinary Message-ID and is not a loop.
    """
    addresses = frozenset(a.strip().lower() for a in own_addresses if isinstance(a, str))
    own = _Own(
        addresses=addresses,
        domains=frozenset(_normal_domain(a.rpartition("@")[2]) for a in addresses if "@" in a),
    )
    for rule in _RULES:
        reason = rule(mail, own)
        if reason:
            return reason
    return None


def filter_reason(mail: ParsedMail, reading: dict[str, Any]) -> str | None:
    """Why the channel's reading settings exclude `mail`, or None to ingest it.

    `allowed_domains` (empty = everyone) admits a domain and its subdomains; the exclusions are
    a case-insensitive subject substring, a sender domain (with subdomains) and an fnmatch-style
    sender address pattern. The configured pattern is quoted back in the reason.
    """
    domain = _domain(mail.from_addr)
    allowed = _strings(reading.get("allowed_domains"))
    if allowed and not any(_in_domain(domain, d) for d in allowed):
        return "domain not allowed"
    subject = mail.subject.casefold()
    for pattern in _strings(reading.get("exclude_subjects")):
        if pattern.casefold() in subject:
            return f"excluded subject: {pattern}"
    for excluded in _strings(reading.get("exclude_from_domains")):
        if _in_domain(domain, excluded):
            return f"excluded from-domain: {excluded}"
    address = mail.from_addr.lower()
    for pattern in _strings(reading.get("exclude_from_addresses")):
        if fnmatch.fnmatchcase(address, pattern.strip().lower()):
            return f"excluded from-address: {pattern}"
    return None


# --------------------------------------------------------------------------- automated rules


@dataclass(frozen=True)
class _Own:
    """The channel's own addresses and Message-ID domains, normalised once per check."""

    addresses: frozenset[str]
    domains: frozenset[str]


def _loop(mail: ParsedMail, own: _Own) -> str | None:
    if mail.from_addr and mail.from_addr.lower() in own.addresses:
        return "loop: sent by our own address"
    message_id = (mail.message_id or "").strip("<>")
    id_domain = _domain(message_id)
    if id_domain and id_domain in own.domains and message_id.startswith(MESSAGE_ID_PREFIX):
        return "loop: our own message-id"
    return None


def _auto_submitted(mail: ParsedMail, _own: _Own) -> str | None:
    """RFC 3834: any value but "no" is automated.

    Parameters after ";" and comments are ignored; an empty value counts as automated, since
    answering a machine risks a loop while not acknowledging a human only skips a receipt.
    """
    value = mail.headers.get("auto-submitted")
    if value is None:
        return None
    keyword = _COMMENT.sub(" ", value.split(";", 1)[0]).strip().lower()
    if keyword == "no":
        return None
    return f"auto-submitted: {keyword or '(empty)'}"


def _precedence(mail: ParsedMail, _own: _Own) -> str | None:
    for name in ("precedence", "x-precedence"):
        value = mail.headers.get(name, "").strip().lower()
        if value in _PRECEDENCE_AUTOMATED:
            return f"{name}: {value}"
    return None


def _autoreply_headers(mail: ParsedMail, _own: _Own) -> str | None:
    for name in _AUTOREPLY_PRESENT:
        if name in mail.headers:
            return name
    if mail.headers.get("x-autogenerated", "").strip().lower() == "reply":
        return "x-autogenerated: reply"
    suppress = mail.headers.get("x-auto-response-suppress", "")
    tokens = {t.strip().lower() for t in suppress.replace(";", ",").replace(" ", ",").split(",")}
    if tokens & _SUPPRESS_TOKENS:
        return f"x-auto-response-suppress: {suppress.strip()[:100]}"
    if "x-loop" in mail.headers:
        return "x-loop"
    return None


def _lists(mail: ParsedMail, _own: _Own) -> str | None:
    for name in _LIST_HEADERS:
        if name in mail.headers:
            return name
    return None


def _bounce(mail: ParsedMail, _own: _Own) -> str | None:
    return_path = mail.headers.get("return-path")
    if return_path is not None and "".join(return_path.split()) == "<>":
        return "bounce: empty return-path"
    local = mail.from_addr.rpartition("@")[0] if "@" in mail.from_addr else ""
    if local in _BOUNCE_SENDERS:
        return _BOUNCE_SENDERS[local]
    if "x-failed-recipients" in mail.headers:
        return "x-failed-recipients"
    if mail.headers.get("content-type") == "multipart/report":
        return "multipart/report"
    return None


_RULES: tuple[Callable[[ParsedMail, _Own], str | None], ...] = (
    _loop,
    _auto_submitted,
    _precedence,
    _autoreply_headers,
    _lists,
    _bounce,
)


# --------------------------------------------------------------------------- helpers


def _strings(value: object) -> list[str]:
    """A settings value as a list of non-empty strings (one string is one entry, not letters).

    An empty pattern would exclude every mail, so it is ignored rather than trusted.
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return []
    return [v for v in value if isinstance(v, str) and v.strip()]


def _domain(address: str) -> str:
    return _normal_domain(address.rpartition("@")[2]) if "@" in address else ""


def _normal_domain(domain: str) -> str:
    """Lower-case, without "@" or dots at the ends, IDNs as punycode so both spellings match."""
    domain = domain.strip().lstrip("@").strip(".").lower()
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def _in_domain(domain: str, parent: str) -> bool:
    parent = _normal_domain(parent)
    return bool(domain) and bool(parent) and (domain == parent or domain.endswith("." + parent))
