"""What a rule does to the conversation a mail starts or joins: a registry of actions, one
entry per key of a rule file's `[then]` table.

Each `Action` checks its value when the rule is saved (so a wrong rule is refused with one
sentence, not discovered in the middle of a night's mail) and applies it on ingest, returning
the value it set and the words the thread shows ("assigned to sam"). Another feature adds
its own with one call, e.g. macros (outbound/macros.py: applying one may queue a reply,
and outbound is above desk, so it registers `macro` itself when imported):

    register("macro", Action("a macro's name", check=_checked_macro, apply=_by_rule,
                             words="macro {}".format))

`apply` runs inside the ingest's transaction, in a savepoint of its own: raising a DeskError
there undoes that rule alone and is recorded on the message. In a dry run (`deskterm rule
test`) `target.dry_run` is true and nothing may be written: `preview` says what would be set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deskterm.desk import agents, fields, triage, types
from deskterm.desk import status as lifecycle
from deskterm.errors import ConfigError, DeskError
from deskterm.sanitize import one_line
from deskterm.store.models import PRIORITIES, Agent, RoutingRule

SKIP = "skip"  # not applied to a conversation: the mail becomes a skipped row (see routing)
MAX_GROUP = 100
MAX_TAGS = 20
MAX_FIELDS = 20


@dataclass
class Target:
    """The conversation an action changes. `state` is its state as ingest keeps it for the
    batch (status, priority, ...: written back once per batch), so actions on those columns
    change `state`, not the row; `conversation_id` is None in a dry run."""

    conversation_id: int | None
    state: dict[str, Any]
    rule_id: int | None
    dry_run: bool = False


@dataclass(frozen=True)
class Action:
    help: str
    check: Callable[[Any, str], Any]  # the file's value -> the value stored; ConfigError
    apply: Callable[[Target, Any], Any]  # -> the value it set; DeskError: the rule failed
    words: Callable[[Any], str]  # the value it set, as the thread says it


ACTIONS: dict[str, Action] = {}


def register(key: str, action: Action, *, before: str | None = None) -> None:
    """Add an action for rule files' `[then].<key>` (one per key: a second is a bug).
    Actions apply, and are said, in the registry's order: `before` puts this one ahead of
    another (a type first: "type billing, assigned to sam")."""
    if key in ACTIONS:
        raise ValueError(f"the rule action {key!r} is registered already")
    if before is None:
        ACTIONS[key] = action
        return
    entries = list(ACTIONS.items())
    at = [k for k, _ in entries].index(before)
    entries.insert(at, (key, action))
    ACTIONS.clear()
    ACTIONS.update(entries)


# --- checks ----------------------------------------------------------------------------------


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not one_line(value):
        raise ConfigError(f"{name} must be a non-empty string.")
    return one_line(value)


def _priority(value: Any, name: str) -> str:
    value = _text(value, name).lower()
    if value not in PRIORITIES:
        raise ConfigError(f"{name} may be {', '.join(PRIORITIES)}, not {value!r}.")
    return value


def _status(value: Any, name: str) -> str:
    try:
        return lifecycle.checked(_text(value, name).lower())
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _handles(value: Any, name: str, most: int) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or len(items) > most:
        raise ConfigError(f"{name} must be a handle or a list of 1 to {most} handles.")
    # By handle or address, as `assign` takes them; stored as handles.
    handles = [agents.get(_text(item, name)).handle for item in items]
    return list(dict.fromkeys(handles))


def _reason(value: Any, name: str) -> str:
    reason = _text(value, name)
    if len(reason) > 200:
        raise ConfigError(f"{name} may be at most 200 characters long.")
    return reason


def _tags(value: Any, name: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or len(items) > MAX_TAGS:
        raise ConfigError(f"{name} must be a tag or a list of 1 to {MAX_TAGS} tags.")
    tags = []
    for item in items:
        tag = _text(item, name).lower()
        if len(tag) > triage.MAX_NAME or " " in tag:
            raise ConfigError(f"{name}: a tag is one word of at most {triage.MAX_NAME} characters.")
        tags.append(tag)
    return list(dict.fromkeys(tags))


def _type(value: Any, name: str) -> str:
    """An existing type (`deskterm type list`): a rule naming no type is refused when saved;
    whether the conversation's channel allows it is known only on ingest (`types.set_type`)."""
    return types.get(_text(value, name)).name


def _fields(value: Any, name: str) -> dict[str, str]:
    """Field names to values. Which fields exist depends on the conversation's type, known
    only on ingest, so `fields.set_value` checks each there (and the rule fails on a wrong one)."""
    if not isinstance(value, dict) or not value or len(value) > MAX_FIELDS:
        raise ConfigError(
            f'{name} must be a table of 1 to {MAX_FIELDS} fields, e.g. {{ order = "A-1" }}.'
        )
    return {
        _text(key, name).lower(): _text(text, f"{name}.{one_line(key)[:40]}")
        for key, text in value.items()
    }


# --- applying --------------------------------------------------------------------------------


def _set_state(column: str) -> Callable[[Target, Any], Any]:
    def apply(target: Target, value: Any) -> Any:
        target.state[column] = value
        return value

    return apply


def _assign(target: Target, handle: str) -> str:
    agent = Agent.get_or_none(Agent.handle == handle)
    if agent is None:
        raise DeskError(f"{handle} is no longer an agent; edit the rule")
    if not target.dry_run and target.conversation_id is not None:
        triage.assign(target.conversation_id, handle)
    return handle


def _round_robin(target: Target, group: list[str]) -> str:
    """The next agent of the group, in turn. The turn is the rule's row, advanced by an
    UPDATE in the ingest's transaction: two workers of a team desk wait for each other's row
    lock, so each takes the next agent, and a restart goes on where the last one stopped.
    Agents removed since the rule was saved are passed over."""
    present = set(agents.handles())
    members = [h for h in group if h in present]
    if not members:
        raise DeskError(f"none of {', '.join(group)} is an agent any more; edit the rule")
    if target.dry_run or target.rule_id is None:
        turn = RoutingRule.select(RoutingRule.turn).where(RoutingRule.id == target.rule_id)
        count = (turn.scalar() or 0) + 1
    else:
        RoutingRule.update(turn=RoutingRule.turn + 1).where(
            RoutingRule.id == target.rule_id
        ).execute()
        count = RoutingRule.select(RoutingRule.turn).where(RoutingRule.id == target.rule_id)
        count = count.scalar()
    # The turn counts over the whole group, so removing one agent does not shift the rest.
    for step in range(len(group)):
        handle = group[(count - 1 + step) % len(group)]
        if handle in members:
            return _assign(target, handle)
    raise AssertionError("unreachable: members is not empty")


def _tag(target: Target, tags: list[str]) -> list[str]:
    if not target.dry_run and target.conversation_id is not None:
        for tag in tags:
            triage.add_tag(target.conversation_id, tag)
    return tags


def _set_type(target: Target, name: str) -> str:
    if not target.dry_run and target.conversation_id is not None:
        types.set_type(target.conversation_id, name)
    return name


def _set_fields(target: Target, values: dict[str, str]) -> dict[str, str]:
    """After `type` (the registry's order), so a rule may type a conversation and fill the
    type's fields at once."""
    if not target.dry_run and target.conversation_id is not None:
        for name, value in values.items():
            fields.set_value(target.conversation_id, name, value)
    return values


def _refuse(_target: Target, _value: Any) -> Any:
    raise AssertionError("skip is decided before a conversation exists (routing.Router)")


register(
    "priority",
    Action("high, normal or low", _priority, _set_state("priority"), lambda v: f"priority {v}"),
)
register(
    "status",
    Action("open, pending, resolved or closed", _status, _set_state("status"), "status {}".format),
)
register(
    "tags",
    Action("tags to add", _tags, _tag, lambda v: "tagged " + ", ".join(v)),
)
register(
    "assign",
    Action(
        "an agent's handle or address",
        lambda v, n: _handles(v, n, 1)[0],
        _assign,
        "assigned to {}".format,
    ),
)
register(
    "assign_round_robin",
    Action(
        "agents' handles, each given the next conversation in turn",
        lambda v, n: _handles(v, n, MAX_GROUP),
        _round_robin,
        "assigned to {} in turn".format,
    ),
)
register(
    "type", Action("a conversation type", _type, _set_type, "type {}".format), before="priority"
)
register(
    "fields",
    Action(
        'custom fields\' values, e.g. { order = "A-1" }',
        _fields,
        _set_fields,
        lambda v: ", ".join(f"{k} {v[k]}" for k in v),
    ),
    before="priority",
)
register(SKIP, Action("the reason the mail is skipped", _reason, _refuse, "skipped: {}".format))


def checked(raw: Any) -> dict[str, Any]:
    """A rule file's `[then]` table, each value checked by its action."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("[then] must be a table with at least one action.")
    unknown = sorted(set(raw) - set(ACTIONS))
    if unknown:
        raise ConfigError(
            f"unknown action {', '.join(map(one_line, unknown))} in [then]; "
            f"actions are {', '.join(ACTIONS)}."
        )
    if "assign" in raw and "assign_round_robin" in raw:
        raise ConfigError("[then] may have assign or assign_round_robin, not both.")
    if SKIP in raw and len(raw) > 1:
        raise ConfigError("[then] with skip may have no other action: the mail is not stored.")
    return {key: ACTIONS[key].check(value, f"then.{key}") for key, value in raw.items()}
