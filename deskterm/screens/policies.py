"""Desk policies in the terminal (`D` in the list): routing rules, SLA policies and macros,
three lists side by side (1, 2, 3 or Tab switch), each with add, edit and remove; the forms
are in screens/policy_forms.py.

Each list reads and writes through the engine functions `deskterm rule|sla|macro` call
(desk/rules/rulebook, desk/sla and sla_policies, desk/macros), in thread workers. The lists
follow the desk: on a team desk an admin's change elsewhere reaches an open list (PostgreSQL
announces the policy tables, store/live_triggers.py `POLICY_TABLES`).

Names, conditions and values were written by anyone with the CLI: shown as `Content` or
`rich.text.Text` through `one_line`, never as markup.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm.desk import macros, sla, sla_policies
from deskterm.desk.rules import rulebook
from deskterm.desk.sla_calendar import format_minutes
from deskterm.sanitize import one_line
from deskterm.screens.dialog import Confirmation
from deskterm.screens.policy_forms import MacroFormScreen, RuleFormScreen, SlaFormScreen
from deskterm.screens.table import TableScreen, cell, row_table
from deskterm.widgets.status_bar import StatusBar

TABS = ("rules", "sla", "macros")  # in the order of their keys, 1 2 3
TAB_TITLES = {"rules": "Routing rules", "sla": "SLA policies", "macros": "Macros"}


def policy_screen(tab: str) -> PolicyListScreen:
    """A new list of `tab` (one of TABS)."""
    kinds: dict[str, type[PolicyListScreen]] = {
        "rules": RulesScreen,
        "sla": SlaPoliciesScreen,
        "macros": MacrosScreen,
    }
    return kinds[tab]()


class PolicyListScreen(TableScreen):
    """What the three lists share: the tabs line, the keys, loading, removing."""

    TAB: ClassVar[str] = "rules"
    NOUN: ClassVar[str] = "rule"  # "Rule 'x' removed."
    HINTS: ClassVar[str] = "a add  e edit  d remove  1-3 lists  ? help"
    FOLLOWS_DESK = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="policies.add"),
        Binding("e,enter", "edit", "Edit", id="policies.edit", priority=True),
        Binding("d,delete", "remove", "Remove", id="policies.remove"),
        Binding("1", "tab('rules')", "Routing rules", id="policies.rules"),
        Binding("2", "tab('sla')", "SLA policies", id="policies.sla"),
        Binding("3", "tab('macros')", "Macros", id="policies.macros"),
        Binding("tab", "next_tab", "Next list", id="policies.next"),
        Binding("ctrl+r", "reload", "Reload", id="policies.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="policies.back"),
    ]
    DEFAULT_CSS = """
    PolicyListScreen DataTable { height: 1fr; overflow-x: hidden; }
    PolicyListScreen #empty { padding: 1 1; color: $text-muted; }
    PolicyListScreen #empty.-hidden { display: none; }
    PolicyListScreen #preview {
        height: auto; max-height: 7; padding: 0 1; border-top: hkey $primary 30%;
    }
    """

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]]) -> None:
            super().__init__()
            self.rows = rows

    class Done(Message):
        """A remove or a move went well: say so, and read the list again."""

        def __init__(self, said: str, select: str | None = None) -> None:
            super().__init__()
            self.said = said
            self.select = select

    def __init__(self) -> None:
        super().__init__()
        self._select: str | None = None  # the name to highlight once loaded (a saved one)

    # --- what each list says ---------------------------------------------------------------

    def columns(self) -> tuple[tuple[str, int | None], ...]:
        raise NotImplementedError

    def read(self) -> list[dict[str, Any]]:
        """The rows, in a thread (each with its `name`)."""
        raise NotImplementedError

    def cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        raise NotImplementedError

    def details(self, row: dict[str, Any]) -> str:
        """The highlighted row in full, under the table."""
        raise NotImplementedError

    def form(self, row: dict[str, Any] | None) -> Any:
        """The form that adds (`row` None) or edits a row; its `saved` is the name saved."""
        raise NotImplementedError

    def delete(self, name: str) -> None:
        """Remove a row, in a thread."""
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------------

    @property
    def EMPTY_HINT(self) -> str:  # type: ignore[override]
        return f"There is no {self.NOUN} here; press a to add one."

    def compose(self) -> ComposeResult:
        yield Static(self._tabs(), id="title")
        yield row_table(self.columns(), line=self.app.size.width)
        yield Static(Content("loading…"), id="empty")
        yield Static(Content(""), id="preview")
        yield StatusBar(self.HINTS)

    def _tabs(self) -> Content:
        parts: list[str | tuple[str, str]] = ["Policies  "]
        for number, tab in enumerate(TABS, 1):
            label = f" {number} {TAB_TITLES[tab]} "
            parts.append((label, "reverse") if tab == self.TAB else label)
        return Content.assemble(*parts)

    @work(
        thread=True,
        exclusive=True,
        group="policies",
        exit_on_error=False,
        description="reading the policies",
    )
    def _load(self) -> None:
        self.post_message(self.Loaded(self.read()))

    def on_policy_list_screen_loaded(self, message: Loaded) -> None:
        select, self._select = self._select, None
        self.fill(message.rows, self.cells, "name", select)
        empty = self.query_one("#empty", Static)
        empty.update(Content(f"No {TAB_TITLES[self.TAB].lower()} yet: press a to add one."))
        empty.set_class(bool(message.rows), "-hidden")

    def show_current(self) -> None:
        row = self.current
        text = Content("") if row is None else Content(self.details(row))
        self.query_one("#preview", Static).update(text)

    def action_tab(self, tab: str) -> None:
        if tab != self.TAB:
            self.app.switch_screen(policy_screen(tab))

    def action_next_tab(self) -> None:
        self.action_tab(TABS[(TABS.index(self.TAB) + 1) % len(TABS)])

    def action_add(self) -> None:
        self._open(None)

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._open(row)

    open_row = action_edit

    def _open(self, row: dict[str, Any] | None) -> None:
        form = self.form(row)
        self.app.push_screen(form, lambda _result: self._back_from(form))

    def _back_from(self, form: Any) -> None:
        if form.saved is not None:
            self._select = form.saved
            self.reload()

    def action_remove(self) -> None:
        row = self._selected()
        if row is None:
            return
        name = str(row["name"])

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(name)

        self.app.push_screen(ConfirmRemovePolicy(self.NOUN, name), answered)

    @work(thread=True, group="remove", exit_on_error=False, description="removing it")
    def _remove(self, name: str) -> None:
        self.delete(name)
        self.post_message(self.Done(f"{self.NOUN.capitalize()} {one_line(name)!r} removed."))

    def on_policy_list_screen_done(self, message: Done) -> None:
        self.notify(message.said, markup=False)
        self._select = message.select
        self.reload()


class RulesScreen(PolicyListScreen):
    """The routing rules in the order they are asked; K and J move the highlighted one."""

    TAB = "rules"
    NOUN = "rule"
    HINTS = "a add  e edit  d remove  K/J move  1-3 lists"
    BINDINGS: ClassVar[list[BindingType]] = [
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

    def delete(self, name: str) -> None:
        rulebook.remove(name)

    def action_move(self, step: int) -> None:
        row = self._selected()
        if row is not None:
            self._move(str(row["name"]), int(row["position"]) + step)

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

    def delete(self, name: str) -> None:
        sla.remove_policy(name)


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

    def delete(self, name: str) -> None:
        macros.remove(name)


class ConfirmRemovePolicy(Confirmation[bool]):
    """y removes it, n or Esc keeps it (the default: nothing is lost by a slip)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Remove it", id="policy_remove.yes"),
        Binding("n,escape", "answer(False)", "Keep it", id="policy_remove.no"),
    ]

    def __init__(self, noun: str, name: str) -> None:
        super().__init__()
        self.noun = noun
        self.policy_name = name

    def question(self) -> Content:
        return Content.assemble(
            (f"Remove {self.noun} {one_line(self.policy_name)!r}?", "bold"),
            " This cannot be undone.\n\n",
            ("y", "bold $accent"),
            " remove it   ",
            ("n", "bold $accent"),
            " or ",
            ("esc", "bold $accent"),
            " keep it",
        )
