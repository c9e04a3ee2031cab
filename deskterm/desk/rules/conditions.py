"""A rule's conditions: the keys of its `[when]` (and `[unless]`) table, each checked when the
rule is saved and asked of a mail's `Facts` on ingest.

Every key takes a string or a list of strings, and holds when any of them matches; text is
compared without regard to case. A rule's `match` says whether all its keys must hold (the
default) or any one; `[unless]` names mail the rule leaves alone when any of its keys holds.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deskterm.desk.rules import bounded
from deskterm.desk.rules.facts import Facts
from deskterm.errors import ConfigError
from deskterm.sanitize import one_line
from deskterm.store.models import PRIORITIES

MAX_VALUES = 200  # strings one key may list
MAX_TEXT = 1000  # characters of one


@dataclass(frozen=True)
class Condition:
    """One key: what it says in the README's words, how its values are checked, and whether
    one of them matches a mail."""

    help: str
    holds: Callable[[Facts, str], bool]
    check: Callable[[str, str], str] = lambda value, _name: value


def _glob(text: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


def _in_domain(domain: str, parent: str) -> bool:
    parent = parent.lower().lstrip("@").strip(".")
    return domain == parent or domain.endswith("." + parent)


def _contains(text: str, part: str) -> bool:
    return part.casefold() in text[: bounded.MAX_INPUT].casefold()


def _automated(facts: Facts, reason: str) -> bool:
    """`any` for any automated mail, else the start of the reason (`auto-submitted`, `list-id`,
    `bounce`, `precedence`, ...) that deskterm.mail.automail gave."""
    if facts.automated is None:
        return False
    return reason.lower() == "any" or facts.automated.lower().startswith(reason.lower())


def _priority(value: str, name: str) -> str:
    if value.lower() not in PRIORITIES:
        raise ConfigError(f"{name} may be {', '.join(PRIORITIES)}, not {one_line(value)!r}.")
    return value.lower()


CONDITIONS: dict[str, Condition] = {
    "from": Condition(
        "sender address, a pattern (*@example.com)",
        lambda f, v: bool(f.mail.from_addr) and _glob(f.mail.from_addr, v),
    ),
    "from_domain": Condition(
        "sender's domain, subdomains too", lambda f, v: bool(f.domain) and _in_domain(f.domain, v)
    ),
    "organization": Condition(
        "sender's organization, by name",
        lambda f, v: (f.organization or "").casefold() == v.casefold(),
    ),
    "to": Condition(
        "a To or Cc address, a pattern (support+billing@*)",
        lambda f, v: any(_glob(a, v) for a in f.recipients),
    ),
    "subject": Condition("text in the subject", lambda f, v: _contains(f.mail.subject, v)),
    "subject_regex": Condition(
        "a regular expression found in the subject",
        lambda f, v: bounded.search(v, f.mail.subject),
        bounded.checked,
    ),
    "body": Condition("text in the body", lambda f, v: _contains(f.mail.text, v)),
    "body_regex": Condition(
        "a regular expression found in the body",
        lambda f, v: bounded.search(v, f.mail.text),
        bounded.checked,
    ),
    "attachment_type": Condition(
        "an attachment's MIME type, a pattern (image/*)",
        lambda f, v: any(_glob(t, v) for t in f.attachment_types),
    ),
    "priority": Condition("the mail's own priority", lambda f, v: f.mail.priority == v, _priority),
    "automated": Condition(
        "why it is automated mail (any, auto-submitted, list-id, ...)", _automated
    ),
}


def checked(raw: Any, table: str) -> dict[str, list[str]]:
    """A `[when]`/`[unless]` table from a rule file, every value a list of checked strings."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{table} must be a table ([{table}]).")
    unknown = sorted(set(raw) - set(CONDITIONS))
    if unknown:
        raise ConfigError(
            f"unknown condition {', '.join(map(one_line, unknown))} in [{table}]; "
            f"conditions are {', '.join(CONDITIONS)}."
        )
    out: dict[str, list[str]] = {}
    for key, value in raw.items():
        name = f"{table}.{key}"
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
            raise ConfigError(f"{name} must be a string or a list of 1 to {MAX_VALUES} strings.")
        cleaned = []
        for item in values:
            if not isinstance(item, str) or not item.strip() or len(item) > MAX_TEXT:
                raise ConfigError(
                    f"{name} must hold non-empty strings of at most {MAX_TEXT} characters."
                )
            cleaned.append(CONDITIONS[key].check(item.strip(), name))
        out[key] = cleaned
    return out


def held(conditions: dict[str, list[str]], facts: Facts) -> dict[str, bool]:
    """Whether each key holds for the mail (any of its values). Raises bounded.RuleTimeout
    when a regular expression takes too long."""
    return {
        key: any(CONDITIONS[key].holds(facts, value) for value in values)
        for key, values in conditions.items()
        if key in CONDITIONS
    }
