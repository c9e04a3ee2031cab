"""Desk policies in the terminal (`D` in the list): routing rules, SLA policies, macros, and
conversation types with their fields (screens/policy_types.py), four lists side by side
(1-4 or Tab switch), each with add, edit and remove; what the lists share is in
screens/policy_list.py, the forms in screens/policy_forms.py and screens/type_forms.py.

Each list reads and writes through the engine functions `deskterm rule|sla|macro|type|field`
call (desk/rules/rulebook, desk/sla and sla_policies, desk/macros, desk/types), in thread
workers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message

from deskterm.desk import macros, sla, sla_policies
from deskterm.desk.rules import rulebook, trial
from deskterm.desk.sla_calendar import format_minutes
from deskterm.errors import DeskError
from deskterm.outbound import macros as applying  # noqa: F401 (registers the rules' `macro`)
from deskterm.sanitize import one_line
from deskterm.screens import policy_types  # noqa: F401 (registers the fourth list, `4`)
from deskterm.screens.policy_forms import MacroFormScreen, RuleFormScreen, SlaFormScreen
from deskterm.screens.policy_list import LISTS, PolicyListScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.rule_trial import TrialScreen, listed_conversation
from deskterm.screens.table import cell
from deskterm.screens.words import tui_sentence


def policy_screen(tab: str) -> PolicyListScreen:
    """A new list of `tab` (one of policy_list.TABS)."""
    return LISTS[tab]()


class RulesScreen(PolicyListScreen):
    """The routing rules in the order they are asked; K and J move the highlighted one."""

    TAB = "rules"
    NOUN = "rule"
    HINTS = "a add  e edit  d remove  K/J move  t try  1-4 lists"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "try_rules", "Try the rules on a conversation", id="rules.try"),
        Binding("K,shift+up", "move(-1)", "Move the rule up (asked sooner)", id="rules.up"),
        Binding("J,shift+down", "move(1)", "Move the rule down (asked later)", id="rules.down"),
    ]

    def columns(self) -> tuple[tuple[str, int | None], ...]:
        return (("#", 3), ("name", 18), ("where", 18), ("then", None))

    def read(self) -> list[dict[str, Any]]:
        return [rulebook.describe(r) for r in rulebook.all_rules()]

    def cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            cell(row["position"]),
            cell(row["name"]),
            cell(rulebook.scope_words(row)),
            cell(rulebook.actions_words(row["then"])),
        )

    def details(self, row: dict[str, Any]) -> str:
        when = "; ".join(f"{k} {', '.join(v)}" for k, v in row["when"].items())
        unless = "; ".join(f"{k} {', '.join(v)}" for k, v in row["unless"].items())
        lines = [
            f"{row['name']} ({rulebook.scope_words(row)})",
            f"when {row['match']} of: {when}" if when else "when: every mail",
        ]
        if unless:
            lines.append(f"unless: {unless}")
        stop = "; no later rule is asked" if row["stop"] else ""
        lines.append(f"then: {rulebook.actions_words(row['then'])}{stop}")
        return "\n".join(one_line(line) for line in lines)

    def form(self, row: dict[str, Any] | None) -> RuleFormScreen:
        return RuleFormScreen(row)

    def delete(self, row: dict[str, Any]) -> None:
        rulebook.remove(row["name"])

    def action_move(self, step: int) -> None:
        row = self._selected()
        if row is not None:
            self._move(str(row["name"]), int(row["position"]) + step)

    class Tried(Message):
        def __init__(self, conversation_id: int, lines: list[str]) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.lines = lines

    def action_try_rules(self) -> None:
        listed = listed_conversation(list(self.app.screen_stack))

        def answered(text: str | None) -> None:
            number = (text or "").strip().lstrip("#")
            if text is None:
                return
            if not number.isdigit():
                self.notify("Give a conversation's number, e.g. 42.", severity="warning")
                return
            self._try(int(number))

        prompt = PromptScreen(
            "Try the rules on the first mail of conversation #",
            "" if listed is None else str(listed),
            "nothing is stored; enter tries, esc cancels",
        )
        self.app.push_screen(prompt, answered)

    @work(thread=True, group="try", exit_on_error=False, description="trying the rules")
    def _try(self, conversation_id: int) -> None:
        try:
            found = trial.trial_conversation(conversation_id)
        except DeskError as exc:
            self.app.call_from_thread(
                self.notify, tui_sentence(exc), severity="error", markup=False
            )
            return
        self.post_message(self.Tried(conversation_id, trial.lines(found)))

    def on_rules_screen_tried(self, message: Tried) -> None:
        self.app.push_screen(TrialScreen(message.conversation_id, message.lines))

    @work(thread=True, group="move", exit_on_error=False, description="moving the rule")
    def _move(self, name: str, position: int) -> None:
        place = rulebook.move(name, max(position, 1))
        self.post_message(self.Done(f"Rule {one_line(name)!r} is now at {place}.", name))


class SlaPoliciesScreen(PolicyListScreen):
    TAB = "sla"
    NOUN = "SLA policy"

    def columns(self) -> tuple[tuple[str, int | None], ...]:
        return (("name", 16), ("covers", 22), ("first", 6), ("resolve", 7), ("hours", None))

    def read(self) -> list[dict[str, Any]]:
        return [
            {**sla_policies.describe(p), "summary": sla_policies.summary(p)}
            for p in sla_policies.all_policies()
        ]

    def cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        covers = ", ".join(str(row[k]) for k in ("priority", "channel", "type") if row[k])
        return (
            cell(row["name"]),
            cell(covers or "every conversation"),
            cell(format_minutes(row["first_response_minutes"])),
            cell(format_minutes(row["resolution_minutes"])),
            cell(f"{row['hours']} {row['timezone']}"),
        )

    def details(self, row: dict[str, Any]) -> str:
        pause = "paused while pending" if row["pause_when_pending"] else "runs while pending"
        warn = format_minutes(row["warn_minutes"])
        holidays = ", ".join(row["holidays"]) or "none"
        return "\n".join(
            one_line(line)
            for line in (
                row["summary"],
                f"{pause}; warns {warn} before" if row["warn_minutes"] else pause,
                f"holidays: {holidays}",
            )
        )

    def form(self, row: dict[str, Any] | None) -> SlaFormScreen:
        return SlaFormScreen(row)

    def delete(self, row: dict[str, Any]) -> None:
        sla.remove_policy(row["name"])


class MacrosScreen(PolicyListScreen):
    TAB = "macros"
    NOUN = "macro"

    def columns(self) -> tuple[tuple[str, int | None], ...]:
        return (("name", 20), ("does", None))

    def read(self) -> list[dict[str, Any]]:
        return [{**macros.describe(m), "summary": macros.summary(m)} for m in macros.all_macros()]

    def cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return cell(row["name"]), cell(row["summary"])

    def details(self, row: dict[str, Any]) -> str:
        lines = [one_line(row["name"])]
        for item in row["actions"]:
            lines.append(
                f"  {item['action']:<9} {macros.value_text(item['action'], item['value'])}"
            )
        return "\n".join(lines)

    def form(self, row: dict[str, Any] | None) -> MacroFormScreen:
        return MacroFormScreen(row)

    def delete(self, row: dict[str, Any]) -> None:
        macros.remove(row["name"])
