"""Applying a macro (desk/macros.py defines them) to one conversation or to several.

`apply(conversation_id, name)` is the one call everything uses: the thread's `x`,
`deskterm macro apply`, and routing rules. Triage actions go through `desk.triage` (so they
are refused, recorded and undone as the keys' are), the status through `resolved.set_status`
(so resolving by macro sends the channel's resolved notice as the `s` key does), and a
`send` action queues its template as a reply through the outbox.

All of a macro's actions on all the conversations given happen in one transaction, recorded
as one entry of the `History`: one `u` undoes the triage of the whole application. A reply it
queued is not undone by `u` (it is in the outbox: cancel it there before it is sent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from deskterm.desk import macros, templates, triage
from deskterm.desk import status as lifecycle
from deskterm.desk.queries import get_conversation
from deskterm.desk.rules import actions as rule_actions
from deskterm.desk.undo import History
from deskterm.errors import ConfigError
from deskterm.outbound import resolved
from deskterm.outbound.replies import queue_reply
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import Message

Apply = Callable[[int, Any, History | None], object]


def _by_rule_action(key: str) -> Apply:
    """A ticket action (`type`, `fields`) applied by the routing rules' own registry, so a
    macro sets a type or a field exactly as a rule does. Not recorded for `u`: the undo
    history holds triage's fields (status, priority, assignee, tags, unread) only."""

    def apply(cid: int, value: Any, _history: History | None) -> object:
        return rule_actions.ACTIONS[key].apply(rule_actions.Target(cid, {}, None), value)

    return apply


# One function per action that changes the conversation (template and send are below).
APPLY: dict[str, Apply] = {
    "type": _by_rule_action("type"),
    "fields": _by_rule_action("fields"),
    "tags": lambda cid, value, history: triage.change_tags(cid, value, history=history),
    "priority": lambda cid, value, history: triage.set_priority(cid, value, history=history),
    "assign": lambda cid, value, history: triage.assign(cid, value or None, history=history),
    "status": lambda cid, value, history: resolved.set_status(cid, value, history=history),
}


@dataclass
class Applied:
    """What applying a macro did."""

    name: str
    conversation_ids: list[int]
    sent: list[Message] = field(default_factory=list)  # replies queued by a `send` action
    # The `template` action's text filled for the one conversation, for the composer; None
    # when the macro has none or was applied to several (nothing is inserted, nothing sent).
    template_text: str | None = None
    template_skipped: bool = False  # a `template` action not used (applied to several)
    ticket: bool = False  # it set a type or fields, which `u` does not take back

    def sentence(self) -> str:
        """What happened, in one sentence for the agent."""
        ids = self.conversation_ids
        which = f"#{ids[0]}" if len(ids) == 1 else f"{len(ids)} conversations"
        said = f"Macro {self.name!r} applied to {which}"
        if self.sent:
            said += f"; {len(self.sent)} repl{'y' if len(self.sent) == 1 else 'ies'} queued"
        if self.template_skipped:
            said += "; its template is inserted only from a thread, so nothing was sent"
        if self.ticket:
            said += "; undo does not take back the type and fields it set"
        return said + "."


def apply(
    conversation_id: int,
    name: str,
    *,
    history: History | None = None,
    insert_template: bool = False,
) -> Applied:
    """Apply macro `name` to one conversation. With `insert_template` (the thread's `x`), its
    `template` action's text comes back filled for the composer; otherwise it is left out."""
    return apply_all([conversation_id], name, history=history, insert_template=insert_template)


def apply_all(
    conversation_ids: Iterable[int],
    name: str,
    *,
    history: History | None = None,
    insert_template: bool = False,
) -> Applied:
    """Apply macro `name` to every conversation given: all or none, one undo entry."""
    macro = macros.get(name)
    actions = macros.actions_of(macro)
    ids = list(dict.fromkeys(conversation_ids))
    done = Applied(macro.name, ids, ticket=any(a in ("type", "fields") for a, _ in actions))
    chosen = dict(actions)
    with database.atomic(), history.together() if history is not None else nullcontext():
        for cid in ids:
            for action, value in actions:
                if action == "send":
                    conversation = get_conversation(cid)
                    after = None if "status" in chosen else lifecycle.DEFAULT_AFTER_REPLY
                    body = templates.fill(value, conversation)
                    done.sent.append(queue_reply(cid, body, status=after))
                elif action == "status" and "send" in chosen:
                    # The reply it just queued was the last word: no resolved notice after it.
                    triage.set_status(cid, value, history=history)
                elif action == "template":
                    if insert_template and len(ids) == 1:
                        done.template_text = templates.fill(value, get_conversation(cid))
                    else:
                        done.template_skipped = True
                else:
                    APPLY[action](cid, value, history)
    return done


# --- routing rules' `macro` action -----------------------------------------------------------
# Registered here, not in desk/rules/actions.py: applying a macro may queue a reply or send a
# resolved notice (outbound), which the desk layer may not import. Everything that reads rule
# files or applies them (inbound/ingest.py, cli/rules.py) imports this module first.


def _checked_macro(value: object, name: str) -> str:
    if not isinstance(value, str) or not one_line(value):
        raise ConfigError(f"{name} must be a macro's name (`deskterm macro list`).")
    return macros.get(one_line(value)).name


def _by_rule(target: rule_actions.Target, name: str) -> str:
    """Apply the macro inside the ingest's savepoint. Ingest writes status and priority back
    from its batch state afterwards, so the state takes what the macro left on the row."""
    if target.dry_run or target.conversation_id is None:
        return macros.get(name).name
    apply(target.conversation_id, name)
    row = get_conversation(target.conversation_id)
    target.state["status"], target.state["priority"] = row.status, row.priority
    return name


rule_actions.register(
    "macro", rule_actions.Action("a macro's name", _checked_macro, _by_rule, "macro {}".format)
)
