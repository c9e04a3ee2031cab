"""The rule file: one routing rule in TOML (or JSON, for scripts), as `deskterm rule add
--file` takes it. Unknown keys and wrong types are refused with a sentence naming the key, as
channel files are. README.md ("Routing rules") shows the format; `EXAMPLE` is the same."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from deskterm.desk.rules import actions, conditions
from deskterm.errors import ConfigError, DeskError
from deskterm.sanitize import one_line, safe_toml_string

TOP = ("name", "channel", "replies", "stop", "match", "when", "unless", "then")
MATCH = ("all", "any")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

EXAMPLE = """\
# A deskterm routing rule. Add it with: deskterm rule add --file rule.toml
name = "billing"          # letters, digits, . _ - (used on the command line)
channel = "support"       # only this channel's mail; leave out for every channel
replies = false           # also follow-ups to a conversation, not only new ones
stop = false              # later rules are not asked once this one matched
match = "all"             # all | any: which of the [when] conditions must hold

[when]                    # each key: a string or a list, any of which may match
from_domain = ["example.com"]
subject_regex = 'invoice|refund|order #\\d+'

[unless]                  # the rule leaves mail alone when any of these holds
automated = "any"

[then]
priority = "high"
tags = ["billing"]
assign_round_robin = ["sam", "kim"]
"""


def parse_file(path: Path) -> dict[str, Any]:
    """Read and check a rule file (`.json`: JSON, anything else: TOML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.") from None
    return parse_text(text, source=str(path), as_json=path.suffix.lower() == ".json")


def parse_text(text: str, source: str = "rule file", *, as_json: bool = False) -> dict[str, Any]:
    try:
        raw = json.loads(text) if as_json else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        kind = "JSON" if as_json else "TOML"
        raise ConfigError(f"{source} is not valid {kind}: {one_line(str(exc))}.") from None
    try:
        return validate(raw)
    except DeskError as exc:  # a wrong key, or a handle no agent has (NotFound)
        raise ConfigError(f"{source}: {exc}") from None


def validate(raw: Any) -> dict[str, Any]:
    """A rule as the desk stores it, every default filled in."""
    if not isinstance(raw, dict):
        raise ConfigError("a rule must be a table of keys.")
    unknown = sorted(set(raw) - set(TOP))
    if unknown:
        raise ConfigError(
            f"unknown key {', '.join(map(one_line, unknown))} at the top level; "
            f"a rule has {', '.join(TOP)}."
        )
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(
            "name is needed and may hold only letters, digits, '.', '_' and '-' "
            "(it is used on the command line)."
        )
    channel = raw.get("channel")
    if channel is not None and (not isinstance(channel, str) or not channel.strip()):
        raise ConfigError("channel must be a channel's name; leave it out for every channel.")
    for key in ("replies", "stop"):
        if not isinstance(raw.get(key, False), bool):
            raise ConfigError(f"{key} must be true or false.")
    match = raw.get("match", "all")
    if match not in MATCH:
        raise ConfigError(f"match may be all or any, not {one_line(str(match))!r}.")
    if "then" not in raw:
        raise ConfigError("[then] is missing; a rule needs at least one action.")
    return {
        "name": name,
        "channel": channel.strip() if channel else None,
        "replies": raw.get("replies", False),
        "stop": raw.get("stop", False),
        "match": match,
        "conditions": {
            "when": conditions.checked(raw.get("when", {}), "when"),
            "unless": conditions.checked(raw.get("unless", {}), "unless"),
        },
        "actions": actions.checked(raw["then"]),
    }


def to_text(rule: dict[str, Any]) -> str:
    """A stored rule (`rulebook.describe`) as the rule file `parse_text` reads back: what the
    desk's rule editor starts from, so it edits the very format `rule add --file` takes."""
    lines = [f"name = {_toml(rule['name'])}"]
    if rule.get("channel"):
        lines.append(f"channel = {_toml(rule['channel'])}")
    lines += [f"replies = {_toml(bool(rule['replies']))}", f"stop = {_toml(bool(rule['stop']))}"]
    lines.append(f"match = {_toml(rule['match'])}")
    for table in ("when", "unless", "then"):
        values = rule.get(table) or {}
        if values or table == "then":
            lines += ["", f"[{table}]"]
            lines += [f"{_key(key)} = {_toml(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else safe_toml_string(key)


def _toml(value: Any) -> str:
    """One value in TOML (strings as `safe_toml_string` writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, int):
        return str(value)
    return safe_toml_string(str(value))
