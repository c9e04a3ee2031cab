"""Is this mail from a machine, and does the channel want it at all?

Auto-acknowledging an auto-reply is how mail loops start (FACTS.md "Loops": FreeScout #4143 sent
8,000 mails), so every rule of FACTS.md "Automated mail" is here, and each answers with the
*reason* it matched: the agent sees why a mail was not acknowledged or not ingested, and a wrong
rule is easy to spot. Both functions only read an already parsed mail; they never raise on
whatever a hostile sender put in the headers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Protocol

from deskterm.mail import addresses
from deskterm.mail.comments import strip_comments
from deskterm.mail.parse import ParsedMail

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
_BOUNCE_SENDERS = {"mailer-daemon": "bounce: mailer-daemon", "postmaster": "bounce: postmaster"}


def automated_reason(
    mail: ParsedMail, own_addresses: Iterable[str] = (), sent_ids: Container[str] = ()
) -> str | None:
    """Why `mail` was sent by a machine (first rule that matches), or None for human mail.

    Loop rules come first: a mail we sent ourselves is the most dangerous one to answer. It is
    recognised by its sender (one of `own_addresses`) or, under any sender (a forward, a list),
    by its Message-ID among `sent_ids`, those of mail we sent. A colleague's mail from our
    domain is not a loop.
    """
    own = _Own(
        addresses=frozenset(a.strip().lower() for a in own_addresses if isinstance(a, str)),
        sent=sent_ids,
    )
    for rule in _RULES:
        reason = rule(mail, own)
        if reason:
            return reason
    return None


class Filters(Protocol):
    """A channel's `[reading]` filters (deskterm.channels.typed.ReadingConfig holds them)."""

    @property
    def allowed_domains(self) -> Iterable[str]: ...

    @property
    def exclude_subjects(self) -> Iterable[str]: ...

    @property
    def exclude_from_domains(self) -> Iterable[str]: ...

    @property
    def exclude_from_addresses(self) -> Iterable[str]: ...


def filter_reason(mail: ParsedMail, reading: Filters) -> str | None:
    """Why the channel's reading settings exclude `mail`, or None to ingest it.

    `allowed_domains` (empty = everyone) admits a domain and its subdomains; the exclusions are
    a case-insensitive subject substring, a sender domain (with subdomains) and an fnmatch-style
    sender address pattern. The configured pattern is quoted back in the reason.
    """
    domain = _domain(mail.from_addr)
    allowed = _strings(reading.allowed_domains)
    if allowed and not any(_in_domain(domain, d) for d in allowed):
        return "domain not allowed"
    subject = mail.subject.casefold()
    for pattern in _strings(reading.exclude_subjects):
        if pattern.casefold() in subject:
            return f"excluded subject: {pattern}"
    for excluded in _strings(reading.exclude_from_domains):
        if _in_domain(domain, excluded):
            return f"excluded from-domain: {excluded}"
    address = mail.from_addr.lower()
    for pattern in _strings(reading.exclude_from_addresses):
        if fnmatch.fnmatchcase(address, pattern.strip().lower()):
            return f"excluded from-address: {pattern}"
    return None


# --------------------------------------------------------------------------- automated rules


@dataclass(frozen=True)
class _Own:
    """The channel's own addresses (normalised once per check) and our sent Message-IDs."""

    addresses: frozenset[str]
    sent: Container[str]


def _loop(mail: ParsedMail, own: _Own) -> str | None:
    if mail.from_addr and mail.from_addr.lower() in own.addresses:
        return "loop: sent by our own address"
    if mail.message_id and mail.message_id in own.sent:
        return "loop: our own message came back"
    return None


def _auto_submitted(mail: ParsedMail, _own: _Own) -> str | None:
    """RFC 3834: any value but "no" is automated.

    Parameters after ";" and comments are ignored; an empty value counts as automated, since
    answering a machine risks a loop while not acknowledging a human only skips a receipt.
    """
    value = mail.headers.get("auto-submitted")
    if value is None:
        return None
    keyword = strip_comments(value.split(";", 1)[0]).strip().lower()
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
    try:
        return addresses.ascii_domain(domain)
    except UnicodeError:
        return domain


def _in_domain(domain: str, parent: str) -> bool:
    parent = _normal_domain(parent)
    return bool(domain) and bool(parent) and (domain == parent or domain.endswith("." + parent))
