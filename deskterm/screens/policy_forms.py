"""The forms of the Policies screens (screens/policies.py): a routing rule, an SLA policy, a
macro. Each saves through the engine function its `deskterm` command calls, in a thread, and
shows the engine's refusal as its one sentence under the form, in the TUI's words
(`tui_sentence`), so the form and the CLI can never disagree about what is valid.

The rule form is a text area holding the rule file itself (`deskterm rule add --file`'s
TOML; an existing rule is written back by `rulefile.to_text`), not a form per key: the
conditions and actions are registries other features add to (a macro's `macro` action comes
from outbound), a rule's keys hold lists and tables, and `rule show`, `rule example` and the
README all speak this one format. The keys it takes are listed under it, from the registries.
The SLA and macro forms have one input per option of `sla add` and `macro add`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from deskterm.desk import macros, sla, sla_policies
from deskterm.desk.rules import actions as rule_actions
from deskterm.desk.rules import conditions, rulebook, rulefile
from deskterm.desk.sla_calendar import format_minutes
from deskterm.errors import DeskError
from deskterm.outbound import macros as applying  # noqa: F401 (registers the rules' `macro`)
from deskterm.sanitize import clean, one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.words import tui_sentence
from deskterm.store.models import PRIORITIES
from deskterm.widgets.status_bar import StatusBar

NEW_RULE = """\
name = ""
match = "all"             # all | any: which of the [when] conditions must hold

[when]
subject = "invoice"

[then]
priority = "high"
"""
STATUSES = ("open", "pending", "resolved", "closed")


def labelled(label: str, widget: Widget) -> Horizontal:
    return Horizontal(Label(Content(label)), widget, classes="row")


class PolicyFormScreen(DeskScreen):
    """Ctrl+S saves (the engine checks), Esc leaves (twice with unsaved changes); `saved`
    is the name saved, for the list to highlight."""

    NOUN: ClassVar[str] = "rule"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="policy_form.save"),
        Binding("escape", "back", "Back (twice to drop changes)", id="policy_form.back"),
        Binding("f1", "app.help", "Keys (help)", id="policy_form.help"),
    ]
    DEFAULT_CSS = """
    PolicyFormScreen #form { height: 1fr; padding: 0 1; }
    PolicyFormScreen .row { height: 1; }
    PolicyFormScreen .row > Label { width: 16; color: $text-muted; }
    PolicyFormScreen .row > Input { width: 1fr; }
    PolicyFormScreen .row > Select { width: 20; }
    PolicyFormScreen .row > Checkbox { border: none; padding: 0; height: 1; }
    PolicyFormScreen #problem { height: auto; color: $error; padding: 0 1; }
    PolicyFormScreen #keys { height: auto; color: $text-muted; }
    """

    class Saved(Message):
        def __init__(self, name: str | None, problem: str = "") -> None:
            super().__init__()
            self.name = name  # None: refused, `problem` says why
            self.problem = problem

    def __init__(self, row: dict[str, Any] | None) -> None:
        super().__init__()
        self.row = row  # None: a new one
        self.original: str | None = None if row is None else str(row["name"])
        self.saved: str | None = None
        self.saving = False
        self.initial: tuple[Any, ...] = ()

    def heading(self) -> str:
        if self.original is None:
            return f"New {self.NOUN}"
        return f"{self.NOUN.capitalize()} {one_line(self.original)}"

    def compose(self) -> ComposeResult:
        yield Static(Content(self.heading()), id="title")
        yield from self.body()
        yield Static(Content(""), id="problem")
        yield StatusBar("ctrl+s save  esc back  f1 keys")

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def form_values(self) -> tuple[Any, ...]:
        """What the widgets hold now (compared with `initial` for unsaved changes)."""
        raise NotImplementedError

    def store(self, values: tuple[Any, ...]) -> str:
        """Save through the engine, in a thread; returns the name saved (DeskError: refused)."""
        raise NotImplementedError

    def key_of(self, name: str) -> str:
        """The list's key of what was saved as `name` (the name itself, but for a field)."""
        return name

    def on_mount(self) -> None:
        self.initial = self.form_values()

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._leave_armed = False

    def action_back(self) -> None:
        if not self.warned_before_leaving(self.form_values() != self.initial):
            self.dismiss()

    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self._save(self.form_values())

    @work(thread=True, exclusive=True, group="save", exit_on_error=False, description="saving")
    def _save(self, values: tuple[Any, ...]) -> None:
        try:
            name = self.store(values)
        except DeskError as exc:
            self.post_message(self.Saved(None, tui_sentence(exc)))
            return
        except BaseException:
            self.post_message(self.Saved(None))  # Save may be pressed again; the worker's
            raise  # handler reports the bug
        self.post_message(self.Saved(name))

    def on_policy_form_screen_saved(self, message: Saved) -> None:
        self.saving = False
        problem = self.query_one("#problem", Static)
        if message.name is None:
            if message.problem:
                problem.update(Content.assemble(("✗ ", "bold"), message.problem))
                self.notify(f"Not saved: {message.problem}", severity="error", markup=False)
            return
        problem.update(Content(""))
        self.saved = self.key_of(message.name)
        self.notify(f"{self.NOUN.capitalize()} {one_line(message.name)!r} saved.", markup=False)
        self.dismiss()


# --- a routing rule ------------------------------------------------------------------------------


class RuleFormScreen(PolicyFormScreen):
    """The rule file in a text area; saved by `rulebook.add` or `rulebook.edit`."""

    NOUN = "rule"
    DEFAULT_CSS = """
    RuleFormScreen #rule { height: 1fr; min-height: 6; }
    RuleFormScreen #keys { max-height: 5; }
    """

    def body(self) -> ComposeResult:
        text = NEW_RULE if self.row is None else rulefile.to_text(self.row)
        with Vertical(id="form"):
            yield TextArea(clean(text), id="rule", soft_wrap=True)
            with VerticalScroll(id="keys"):
                yield Static(self._keys())

    @staticmethod
    def _keys() -> Content:
        """The keys a rule takes, from the registries (a feature that adds one shows here)."""
        return Content.assemble(
            ("top: ", "bold"),
            ", ".join(rulefile.TOP),
            "\n",
            ("[when]/[unless]: ", "bold"),
            ", ".join(conditions.CONDITIONS),
            "\n",
            ("[then]: ", "bold"),
            ", ".join(rule_actions.ACTIONS),
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#rule", TextArea).focus()

    def form_values(self) -> tuple[Any, ...]:
        return (self.query_one("#rule", TextArea).text,)

    def store(self, values: tuple[Any, ...]) -> str:
        checked = rulefile.parse_text(values[0], "The rule")
        if self.original is None:
            return str(rulebook.add(checked).name)
        return str(rulebook.edit(self.original, checked).name)


# --- an SLA policy ---------------------------------------------------------------------------


class SlaFormScreen(PolicyFormScreen):
    """One input per option of `deskterm sla add`; saved by `sla.add_policy`, or
    `sla.replace_policy` for an edit (the old one stays in force if the new is refused)."""

    NOUN = "SLA policy"
    TEXTS = (
        ("name", "name", "one word, e.g. urgent"),
        ("channel", "channel", "only this channel's; empty: any"),
        ("type", "type", "only this type; empty: any"),
        ("first", "first response", "e.g. 4h, 90m; empty: none"),
        ("resolution", "resolution", "e.g. 8h; empty: none"),
        ("hours", "business hours", "mon-fri 09:00-17:00; sat 10:00-14:00, or 24/7"),
        ("timezone", "time zone", "e.g. Europe/Berlin"),
        ("holidays", "holidays", "2025-12-25, 2025-12-26"),
        ("warn", "warn before", "e.g. 30m; 0: only the breach notice"),
    )

    def _start(self) -> dict[str, str]:
        row = self.row
        if row is None:
            return {"hours": "24/7", "timezone": "UTC", "warn": "30m"}
        minutes = {
            k: format_minutes(row[c]) if row[c] else ""
            for k, c in (
                ("first", "first_response_minutes"),
                ("resolution", "resolution_minutes"),
                ("warn", "warn_minutes"),
            )
        }
        return {
            "name": row["name"],
            "channel": row["channel"] or "",
            "type": row["type"] or "",
            **minutes,
            "warn": minutes["warn"] or "0",
            "hours": row["hours"],
            "timezone": row["timezone"],
            "holidays": ", ".join(row["holidays"]),
        }

    def body(self) -> ComposeResult:
        start = self._start()
        with VerticalScroll(id="form"):
            for key, label, hint in self.TEXTS:
                value = one_line(str(start.get(key, "")))
                yield labelled(label, Input(value, placeholder=hint, compact=True, id=key))
                if key == "name":
                    priority = (self.row or {}).get("priority") or ""
                    choices = [(Content("any"), ""), *((Content(p), p) for p in PRIORITIES)]
                    yield labelled(
                        "priority",
                        Select(choices, value=priority, allow_blank=False, compact=True, id="pri"),
                    )
            pause = True if self.row is None else bool(self.row["pause_when_pending"])
            yield labelled(
                "while pending",
                Checkbox(Content("the clock stops"), pause, compact=True, id="pause"),
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name", Input).focus()

    def form_values(self) -> tuple[Any, ...]:
        texts = tuple(self.query_one(f"#{key}", Input).value for key, _l, _h in self.TEXTS)
        priority = self.query_one("#pri", Select).value
        return (*texts, priority, self.query_one("#pause", Checkbox).value)

    def store(self, values: tuple[Any, ...]) -> str:
        name, channel, kind, first, resolution, hours, zone, holidays, warn, priority, pause = (
            values
        )
        terms = sla_policies.Terms(
            priority=priority or None,
            channel=channel.strip() or None,
            conversation_type=kind.strip() or None,
            first_response=first.strip() or None,
            resolution=resolution.strip() or None,
            hours=hours,
            timezone=zone,
            holidays=tuple(d.strip() for d in holidays.split(",") if d.strip()),
            pause_when_pending=bool(pause),
            warn_before=warn.strip() or None,
        )
        if self.original is None:
            return str(sla.add_policy(name, terms).name)
        return str(sla.replace_policy(self.original, name, terms).name)


# --- a macro ---------------------------------------------------------------------------------


class MacroFormScreen(PolicyFormScreen):
    """One input per action of `deskterm macro add` (empty: the macro leaves it alone);
    saved by `macros.save`, a rename in the same transaction."""

    NOUN = "macro"
    TEXTS = (
        ("type", "type", "a conversation type"),
        ("fields", "fields", "order=A-1, region=EU"),
        ("tags", "tags", "+vip -billing"),
        ("assign", "assign", "a handle, me, or none"),
        ("template", "template", "a reply template put in the composer"),
        ("send", "send", "a reply template sent as the reply"),
    )

    def body(self) -> ComposeResult:
        chosen: dict[str, Any] = {}
        if self.row is not None:
            chosen = {a["action"]: a["value"] for a in self.row["actions"]}
        if chosen.get("assign") == "":
            chosen["assign"] = "none"
        with VerticalScroll(id="form"):
            name = one_line(self.original or "")
            yield labelled(
                "name", Input(name, placeholder="e.g. escalate", compact=True, id="name")
            )
            for key, label, hint in self.TEXTS:
                value = chosen.get(key, "")
                text = macros.fields_text(value) if isinstance(value, dict) else str(value)
                yield labelled(label, Input(one_line(text), placeholder=hint, compact=True, id=key))
            for key, options in (("priority", PRIORITIES), ("status", STATUSES)):
                choices = [(Content("unchanged"), ""), *((Content(o), o) for o in options)]
                value = chosen.get(key, "")
                yield labelled(
                    key, Select(choices, value=value, allow_blank=False, compact=True, id=key)
                )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name", Input).focus()

    def form_values(self) -> tuple[Any, ...]:
        texts = [self.query_one(f"#{key}", Input).value for key in ("name", *self._text_keys())]
        picks = [self.query_one(f"#{key}", Select).value for key in ("priority", "status")]
        return (*texts, *picks)

    def _text_keys(self) -> list[str]:
        return [key for key, _label, _hint in self.TEXTS]

    def store(self, values: tuple[Any, ...]) -> str:
        name, *rest = values
        keys = [*self._text_keys(), "priority", "status"]
        actions = [(k, str(v).strip()) for k, v in zip(keys, rest, strict=True) if str(v).strip()]
        return str(macros.save(name, actions, renaming=self.original).name)
