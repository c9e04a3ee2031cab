"""The channel form: every key of the channel file, checked as you type.

The form is the channel file in another shape. `channel_fields.form_fields` lists its keys;
as the user types, the form builds the dict a TOML file would hold (`from_form`) and runs the
engine's own `validate` on it, so the one-sentence error shown is exactly the one
`deskterm channel add --file` would print, and Save stays off until there is none.

Passwords are typed into password inputs, kept only in those widgets until Save, then
stored through the app's secret store (`channels.save`) and never shown back. Test runs the
same `conntest.run` as `deskterm channel test` on the form's current values (saved or not),
in a thread, each step appended the moment it completes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Input, Label, Select, Static, Switch

from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.errors import ConfigError, SecretError
from deskterm.sanitize import one_line
from deskterm.screens import channel_fields
from deskterm.screens.base import DeskScreen
from deskterm.screens.channel_fields import OUTBOUND_SWITCH, FormField
from deskterm.screens.channel_passwords import (
    PASSWORD_HINTS,
    ConfirmRefusedPasswordScreen,
    password_stored,
)
from deskterm.screens.channel_test import ChannelTest
from deskterm.screens.words import tui_sentence, tui_words
from deskterm.store.models import Channel
from deskterm.widgets.status_bar import StatusBar
from deskterm.widgets.step_list import StepList

SAME_AS_INBOUND = "same-as-inbound"  # the switch that copies the inbound credentials


ADVANCED = "Advanced: every other key of the channel file"


def field_id(path: str) -> str:
    """A widget id for a dotted key (`inbound.port` -> `f-inbound--port`)."""
    return "f-" + path.replace(".", "--")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


class ChannelFormScreen(ChannelTest, DeskScreen):
    """Add a channel (`channel` None) or edit one; `test_now` starts the Test at once."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="channel.save"),
        Binding("ctrl+t", "test", "Test the connection", id="channel.test"),
        Binding("escape", "back", "Back (twice to drop changes)", id="channel.back"),
    ]
    DEFAULT_CSS = """
    ChannelFormScreen #form { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    ChannelFormScreen .group { height: 1; margin-top: 1; color: $accent; text-style: bold; }
    ChannelFormScreen .group.-first { margin-top: 0; }
    ChannelFormScreen #advanced {
        margin-top: 1; padding: 0; border: none; background: transparent;
    }
    ChannelFormScreen #advanced > CollapsibleTitle { padding: 0; }
    ChannelFormScreen #advanced > Contents { padding: 0; }
    ChannelFormScreen .row { height: 1; }
    ChannelFormScreen .row > Label { width: 24; color: $text-muted; }
    ChannelFormScreen .row.-invalid > Label { color: $error; text-style: bold; }
    ChannelFormScreen .row > Input, ChannelFormScreen .row > Select { width: 1fr; }
    ChannelFormScreen .row > Switch { height: 1; border: none; padding: 0 1; width: auto; }
    ChannelFormScreen .row > Switch:focus { background: $accent; }
    ChannelFormScreen .row > .state { width: auto; margin-left: 1; }
    ChannelFormScreen .row:disabled > Label { color: $text-disabled; }
    ChannelFormScreen #hint { height: 1; padding: 0 1; color: $text-muted; background: $boost; }
    ChannelFormScreen #problem { height: auto; max-height: 3; padding: 0 1; }
    ChannelFormScreen #buttons { height: 1; padding: 0 1; }
    ChannelFormScreen #buttons > Button { margin-right: 2; }
    """

    class Saved(Message):
        def __init__(self, name: str, error: str | None) -> None:
            super().__init__()
            self.name = name
            self.error = error

    class Tested(Message):
        def __init__(self, trial: Channel | None, ok: bool) -> None:
            super().__init__()
            self.trial = trial
            self.ok = ok

    def __init__(self, channel: Channel | None, *, test_now: bool = False) -> None:
        super().__init__()
        self.original = channel.name if channel is not None else None
        self.initial = channel_fields.form_values(channel.settings if channel else None)
        self.fields = channel_fields.form_fields()
        self.test_now = test_now
        self.config: dict[str, Any] | None = None  # the validated settings, None while invalid
        self.problem = ""
        self.testing = False
        self.saving = False
        self._tested: Channel | None = None
        self._test_typed: dict[str, str] = {}  # the passwords the running test uses
        self._refused: dict[str, str] = {}  # side -> the typed password its test refused

    # --- building the form -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Content(self._title()), id="title")
        basic = [f for f in self.fields if f.path in channel_fields.BASIC]
        with VerticalScroll(id="form"):
            yield from self._rows(basic)
            with Collapsible(title=ADVANCED, collapsed=True, id="advanced"):
                yield from self._rows([f for f in self.fields if f not in basic])
        yield Static(Content(""), id="hint")
        yield Static(Content(""), id="problem")
        yield StepList(id="steps")
        with Horizontal(id="buttons"):
            yield Button("Save", id="save", variant="primary", compact=True)
            yield Button("Test", id="test", compact=True)
            yield Button("Back", id="back", compact=True)
        yield StatusBar("ctrl+s save  ctrl+t test  esc back", id="status")

    def _rows(self, fields: list[FormField]) -> ComposeResult:
        """The fields under their tables' headings, each password after its user name."""
        table = None
        for field in fields:
            where = "outbound" if field.path == OUTBOUND_SWITCH else field.table
            if where != table:
                table = where
                classes = "group -first" if table == "" else "group"
                yield Static(Content(channel_fields.GROUPS[table]), classes=classes)
            if field.path == "outbound.username":
                yield self._same_row()
            yield self._row(field)
            if field.key == "username" and field.table in channels.SIDES:
                yield self._password_row(field.table)

    def _title(self) -> str:
        if self.original is None:
            return "New channel"
        return f"Channel {self.original}"

    def _row(self, field: FormField) -> Widget:
        value = self.initial[field.path]
        control: Widget
        wid = field_id(field.path)
        if field.kind == "bool":
            control = Switch(value=bool(value), id=wid, animate=False)
        elif field.kind == "choice":
            control = Select(
                [(choice, choice) for choice in field.choices],
                value=value,
                allow_blank=False,
                compact=True,
                id=wid,
            )
        else:
            control = Input(value=value, placeholder=field.hint, compact=True, id=wid)
        label = "send replies" if field.path == OUTBOUND_SWITCH else field.key
        widgets = [Label(Content(label)), control]
        if field.kind == "bool":  # the slider is colour only: say it in words too
            widgets.append(Label(Content(_yes_no(bool(value))), classes="state"))
        return Horizontal(*widgets, classes="row", id=f"row-{wid}")

    def _password_row(self, side: str) -> Widget:
        placeholder = PASSWORD_HINTS[None] if self.original else "stored on Save, never shown"
        control = Input(password=True, placeholder=placeholder, compact=True, id=f"pw-{side}")
        return Horizontal(Label(Content("password")), control, classes="row", id=f"row-pw-{side}")

    def _same_row(self) -> Widget:
        """The switch that gives SMTP the inbound user name and password (and keeps them so)."""
        control = Switch(value=False, id=SAME_AS_INBOUND, animate=False)
        widgets = [
            Label(Content("same as inbound")),
            control,
            Label(Content("no"), classes="state"),
        ]
        return Horizontal(*widgets, classes="row", id="row-pw-outbound-same")

    @property
    def same_as_inbound(self) -> bool:
        return self.query_one(f"#{SAME_AS_INBOUND}", Switch).value

    def _follow_inbound(self) -> None:
        """With "same as inbound" on: the outbound user name and password are the inbound ones,
        not typed (their boxes are off); with it off they are the user's again."""
        same = self.same_as_inbound
        username = self.query_one(f"#{field_id('outbound.username')}", Input)
        password = self.query_one("#pw-outbound", Input)
        username.disabled = password.disabled = same
        if same:
            username.value = self.query_one(f"#{field_id('inbound.username')}", Input).value
            password.value = self.query_one("#pw-inbound", Input).value

    def on_mount(self) -> None:
        self.check()
        if self.original is not None:
            self._read_stored(self.original)
        first = self.query_one(f"#{field_id('name')}", Input)
        first.focus()
        if self.test_now:
            self.call_after_refresh(self.action_test)

    @work(
        thread=True,
        exclusive=True,
        group="stored-passwords",
        exit_on_error=False,
        description="asking the secret store which passwords it holds",
    )
    def _read_stored(self, name: str) -> None:
        channel = channels.get(name)
        stored = {
            side: password_stored(self.desk.secrets, channels.secret_key(channel, side))
            for side in channels.SIDES
        }
        self._tell(self._show_stored, stored)

    def _show_stored(self, stored: dict[str, bool | None]) -> None:
        if self.is_attached:
            for side, known in stored.items():
                self.query_one(f"#pw-{side}", Input).placeholder = PASSWORD_HINTS[known]

    # --- reading and checking ----------------------------------------------------------

    def control(self, path: str) -> Input | Select[str] | Switch:
        return self.query_one(f"#{field_id(path)}")  # type: ignore[return-value]

    def values(self) -> dict[str, Any]:
        """The form as `channel_fields.from_form` reads it: text, choices and switches."""
        return {field.path: self.control(field.path).value for field in self.fields}

    def passwords(self) -> dict[str, str]:
        typed = {side: self.query_one(f"#pw-{side}", Input).value for side in channels.SIDES}
        if not self.control(OUTBOUND_SWITCH).value:
            typed["outbound"] = ""
        return typed

    def check(self) -> None:
        """Validate the form as a channel file: show the one sentence, mark its field."""
        values = self.values()
        try:
            self.config = channel_config.validate(channel_fields.from_form(values))
            self.problem = ""
        except ConfigError as exc:
            self.config = None
            self.problem = tui_sentence(exc)
        for side in channels.SIDES:
            port = channel_fields.default_port(values, side)
            self.control(f"{side}.port").placeholder = f"empty: {port}" if port else ""  # type: ignore[union-attr]
        outbound_on = bool(values[OUTBOUND_SWITCH])
        for row in self.query(".row"):
            row.remove_class("-invalid")
            if row.id and row.id.startswith(("row-f-outbound--", "row-pw-outbound")):
                row.disabled = not outbound_on
        named = channel_fields.field_in_error(self.problem) if self.problem else None
        if named:
            row = self.query_one(f"#row-{field_id(named)}")
            row.add_class("-invalid")
            if named not in channel_fields.BASIC:  # the field in error is never folded away
                self.query_one("#advanced", Collapsible).collapsed = False
        line = (
            Content.assemble(("✗ ", "bold $error"), self.problem)
            if self.problem
            else Content.styled("✓ Every setting is valid.", "$success")
        )
        self.query_one("#problem", Static).update(line)
        self.query_one("#save", Button).disabled = self.config is None or self.saving

    @property
    def dirty(self) -> bool:
        return self.values() != self.initial or any(self.passwords().values())

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    def _changed(self, event: Message) -> None:
        if isinstance(event, Switch.Changed) and event.switch.parent is not None:
            event.switch.parent.query_one(".state", Label).update(Content(_yes_no(event.value)))
        self._leave_armed = False
        follows = (f"#{SAME_AS_INBOUND}", f"#{field_id('inbound.username')}", "#pw-inbound")
        control = getattr(event, "control", None)
        if control is not None and any(control.id == f[1:] for f in follows):
            self._follow_inbound()
        self.check()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter in a field moves on, as Tab does (Enter on a button presses it)."""
        event.stop()
        self.focus_next()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The hint line explains the focused field (README's comment for that key)."""
        hint = ""
        wid = event.widget.id or ""
        advanced = self.query_one("#advanced", Collapsible)
        if advanced.query_one(Collapsible.Contents) in event.widget.ancestors:
            advanced.collapsed = False  # a folded field focused (by a click, a test): shown
        if wid == SAME_AS_INBOUND:
            hint = "on: SMTP signs in with the inbound user name and password, kept in step"
        elif wid.startswith("pw-"):
            hint = f"the {wid[3:]} password, kept in the secret store, never in the database"
        for field in self.fields:
            if field_id(field.path) == wid:
                hint = f"{field.path}: {field.hint}" if field.hint else field.path
        self.query_one("#hint", Static).update(Content(hint))

    # --- buttons -----------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#test")
    def _test_pressed(self) -> None:
        self.action_test()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        if not self.warned_before_leaving(self.dirty):
            self.app.pop_screen()

    def action_save(self, confirmed: bool = False) -> None:
        if self.config is None:
            self.notify(f"Not saved: {self.problem}", severity="error", markup=False)
            return
        if self.saving:
            return
        typed = self.passwords()
        refused = [s for s, pw in self._refused.items() if pw and typed.get(s) == pw]
        if refused and not confirmed:

            def answered(yes: bool | None) -> None:
                if yes:
                    self.action_save(confirmed=True)

            self.app.push_screen(ConfirmRefusedPasswordScreen(refused), answered)
            return
        self.saving = True
        self.query_one("#save", Button).disabled = True
        self._save(self.config, self.original, self.passwords(), self._tested)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False, description="saving")
    def _save(
        self,
        config: dict[str, Any],
        original: str | None,
        passwords: dict[str, str],
        tested: Channel | None,
    ) -> None:
        try:
            channel = channels.save(
                config,
                original=original,
                passwords=passwords,
                store=self.desk.secrets,
                tested=tested,
            )
        except SecretError as exc:  # the settings are saved, the password is not
            self.post_message(self.Saved(config["name"], tui_words(str(exc))))
            return
        except BaseException:
            self.post_message(self.Saved("", "-"))  # unlock the Save button; the error is
            raise  # reported by the worker's handler
        self.post_message(self.Saved(channel.name, None))

    def on_channel_form_screen_saved(self, message: Saved) -> None:
        self.saving = False
        if message.error == "-":
            self.check()
            return
        self.original = message.name
        self.initial = self.values()
        for side in channels.SIDES:
            self.query_one(f"#pw-{side}", Input).value = ""
        self.query_one("#title", Static).update(Content(self._title()))
        self.check()
        self.desk.read_channels()
        self.desk.recheck_channels()  # an activated channel is polled without waiting
        if message.error:
            self.notify(one_line(message.error), severity="error", markup=False)
            return
        self.notify(f"Channel {message.name!r} saved.", markup=False)
        self.app.pop_screen()
