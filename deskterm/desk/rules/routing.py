"""Asking the rules about a mail, and doing what the matching ones say.

Ingest asks in two steps, because a rule may skip a mail before anything of it is stored:
`decide` (before the conversation exists: which rules match, and whether one skips the mail)
and `apply` (once the conversation and the message are written: the matching rules' actions,
and a `RuleMatch` row per rule on the message). `deskterm rule test` asks the same with
`dry_run`, in a transaction that is rolled back.

A rule that cannot do what it says (its regular expression ran out of time on this mail, its
agent was removed, another feature's action failed) is undone alone, in a savepoint, and the
message says why: it never stops the batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from deskterm.desk.rules import rulebook
from deskterm.desk.rules.actions import ACTIONS, SKIP, Target
from deskterm.desk.rules.bounded import RuleTimeout
from deskterm.desk.rules.conditions import CONDITIONS
from deskterm.desk.rules.facts import Facts
from deskterm.errors import DeskError
from deskterm.store.db import database, utcnow
from deskterm.store.models import RoutingRule, RuleMatch

log = logging.getLogger(__name__)


@dataclass
class Verdict:
    """One rule asked about one mail. `held`: each `[when]` key asked and whether it held
    (keys after the deciding one are not asked, except when explaining); `vetoed`: the
    `[unless]` keys that held; `error`: why the rule could not be asked."""

    rule: RoutingRule
    reached: bool = True  # False: an earlier rule stopped the asking (only when explaining)
    asked: bool = True  # False: a rule for new conversations only, and this is a follow-up
    held: dict[str, bool] = field(default_factory=dict)
    vetoed: list[str] = field(default_factory=list)
    error: str | None = None
    matched: bool = False
    skip_ignored: bool = False  # a skip rule matched mail an agent chose to ingest anyway


@dataclass
class Decision:
    verdicts: list[Verdict]
    skip: str | None = None  # the skipped row's reason: "rule NAME: REASON"

    @property
    def routed(self) -> list[Verdict]:
        """The rules the message is to record: those that matched, and those that failed."""
        return [
            v
            for v in self.verdicts
            if v.reached and ((v.matched and not v.skip_ignored) or v.error)
        ]


@dataclass
class Routed:
    """What one rule did (or why it did nothing), as recorded on the message."""

    rule: str
    applied: dict[str, Any]
    said: str
    error: str | None


class Router:
    """The rules of one channel, read again for each batch (`refresh`)."""

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id
        self.rules: list[RoutingRule] = []

    def refresh(self) -> None:
        self.rules = rulebook.for_channel(self.channel_id)

    def decide(self, facts: Facts, *, may_skip: bool = True, explain: bool = False) -> Decision:
        """Ask the rules in order. A matching skip rule ends the asking (the mail will not be
        stored), as does a matching rule with `stop`. `may_skip` False: an agent chose to
        ingest this mail anyway, so skip rules are passed over. `explain`: ask every key and
        every rule, for `rule test`."""
        decision = Decision([])
        stopped = False
        for rule in self.rules:
            verdict = Verdict(rule, reached=not stopped)
            decision.verdicts.append(verdict)
            if not facts.new and not rule.replies:
                verdict.asked = False
                continue
            try:
                verdict.matched = _matches(rule, facts, verdict, explain=explain)
            except RuleTimeout as exc:
                verdict.error = str(exc)
                continue
            if not verdict.matched or stopped:
                continue
            if SKIP in (rule.actions or {}):
                if not may_skip:
                    verdict.skip_ignored = True
                    continue
                decision.skip = f"rule {rule.name}: {rule.actions[SKIP]}"
                stopped = True
            stopped = stopped or bool(rule.stop)
            if stopped and not explain:
                break
        return decision

    def apply(
        self,
        decision: Decision,
        state: dict[str, Any],
        *,
        conversation_id: int | None,
        message_id: int | None,
        dry_run: bool = False,
    ) -> list[Routed]:
        """Do what the matching rules say to the conversation, in order (a later rule's
        priority wins), each in a savepoint of its own; record each on the message."""
        done: list[Routed] = []
        for verdict in decision.routed:
            rule = verdict.rule
            if verdict.error:
                done.append(Routed(rule.name, {}, "", f"{verdict.error}; it was not applied"))
                continue
            target = Target(conversation_id, dict(state), rule.id, dry_run=dry_run)
            try:
                with database.atomic():
                    # In the registry's order, whatever the file's (stored sorted).
                    wanted = rule.actions or {}
                    applied = {
                        key: action.apply(target, wanted[key])
                        for key, action in ACTIONS.items()
                        if key in wanted and key != SKIP
                    }
            except Exception as exc:  # another feature's action, a vanished agent: this rule only
                if not isinstance(exc, DeskError):
                    log.exception("routing rule %s failed on message %s", rule.name, message_id)
                detail = str(exc) if isinstance(exc, DeskError) else type(exc).__name__
                done.append(Routed(rule.name, {}, "", f"{detail}; nothing of it was applied"))
                continue
            state.update(target.state)
            said = ", ".join(ACTIONS[key].words(value) for key, value in applied.items())
            done.append(Routed(rule.name, applied, said, None))
        if not dry_run and message_id is not None and done:
            RuleMatch.insert_many(
                [
                    {
                        "message": message_id,
                        "rule": v.rule.id,
                        "rule_name": r.rule,
                        "applied": r.applied,
                        "said": r.said,
                        "error": r.error,
                        "created_at": utcnow(),
                    }
                    for v, r in zip(decision.routed, done, strict=True)
                ]
            ).execute()
        return done


def _matches(rule: RoutingRule, facts: Facts, verdict: Verdict, *, explain: bool) -> bool:
    """Whether the rule's `[when]` holds (all or any of its keys; no keys: every mail) and
    no key of its `[unless]` does."""
    conditions = rule.conditions or {}
    when: dict[str, list[str]] = conditions.get("when") or {}
    unless: dict[str, list[str]] = conditions.get("unless") or {}
    wanted_all = rule.match != "any"
    for key, values in when.items():
        verdict.held[key] = _holds(key, values, facts)
        if not explain and verdict.held[key] != wanted_all:
            break
    held = verdict.held.values()
    ok = (all(held) if wanted_all else any(held)) if when else True
    if not ok and not explain:
        return False
    for key, values in unless.items():
        if _holds(key, values, facts):
            verdict.vetoed.append(key)
            if not explain:
                break
    return ok and not verdict.vetoed


def _holds(key: str, values: list[str], facts: Facts) -> bool:
    condition = CONDITIONS.get(key)
    return condition is not None and any(condition.holds(facts, value) for value in values)
