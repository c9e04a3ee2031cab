"""Channel settings: the list of channels, and a form with every key of the channel file.

The form is the channel file in another shape. `channel_config.form_fields` lists its keys;
as the user types, the form builds the dict a TOML file would hold (`from_form`) and runs the
engine's own `validate` on it, so the one-sentence error shown is exactly the one
`deskterm channel add --file` would print, and Save stays off until there is none.

The list's first line says where secrets are kept (the backend `deskterm secrets status`
names, and whether the vault is unlocked), and `P` trusts a channel's changed self-signed
certificate again (`screens/trust.py`, as `deskterm channel trust`).

Passwords are typed into password inputs, kept only in those widgets until Save, then
stored through the app's secret store (`channels.save`) and never shown back. Test runs the
same `conntest.run` as `deskterm channel test` on the form's current values (saved or not),
in a thread, each step appended the moment it completes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Label, Select, Static, Switch

from deskterm import paths
from deskterm.channels import check as conntest
from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.channels.config import OUTBOUND_SWITCH, FormField
from deskterm.channels.health import channel_state
from deskterm.errors import ConfigError, SecretError
from deskterm.net.steps import StepResult
from deskterm.sanitize import one_line
from deskterm.screens.base import DeskScreen
from deskterm.screens.table import TableScreen
from deskterm.store.models import Channel
from deskterm.widgets.status_bar import StatusBar
from deskterm.widgets.step_list import StepList

GROUPS = {
    "": "Channel",
    "inbound": "Inbound: the mailbox to read  [inbound]",
    "inbound.oauth2": "Inbound OAuth2 (only with auth = oauth2)  [inbound.oauth2]",
    "reading": "Reading: which mail becomes conversations  [reading]",
    "outbound": "Outbound: the SMTP server replies go through  [outbound]",
    "outbound.oauth2": "Outbound OAuth2 (only with auth = oauth2)  [outbound.oauth2]",
}


def field_id(path: str) -> str:
    """A widget id for a dotted key (`inbound.port` -> `f-inbound--port`)."""
    return "f-" + path.replace(".", "--")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _text(value: Any) -> Text:
    """A table cell: our own text or a server's, never markup."""
    return Text(one_line(str(value)))


# Any key makes the vault decrypt itself: reading one tells whether the app's store is open.
STATUS_PROBE = "deskterm/status-probe"


def secrets_status(store: Any) -> tuple[str, str]:
    """(which store and its state, why that store): `deskterm secrets status` for the app.

    The backend and its reason come from the same `open_secret_store().status` as the CLI's,
    which never unlocks anything. Whether the vault is unlocked is asked of the app's own
    store (`store`, the app's TuiSecrets): a locked one says so at once, an unlocked one
    reads the probe key without a question. Blocking (the OS keyring is probed, a vault being
    unlocked is waited for): call it from a thread. The OS keyring is not read, so that this
    line never makes a desktop ask for its password.
    """
    from deskterm.secrets.store import open_secret_store

    try:
        status = open_secret_store().status
    except SecretError as exc:
        return "no secret store can be used", str(exc)
    if status.kind == "keyring":
        return f"the OS keyring {status.name}", status.reason
    if store.locked:
        return "the vault, locked (ctrl+p, then Unlock the vault)", status.reason
    if not paths.vault_file().exists():
        return "the vault, not made yet (the first password saved makes it)", status.reason
    try:
        store.get(STATUS_PROBE)
    except SecretError as exc:
        return f"the vault, which cannot be opened: {str(exc).rstrip('.')}", status.reason
    return "the vault, unlocked", status.reason


class ChannelsScreen(TableScreen):
    """Every channel with its state; add, edit, test and remove them from here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add a channel", id="channels.add"),
        Binding("e,enter", "edit", "Edit", id="channels.edit"),
        Binding("t", "test", "Test the connection", id="channels.test"),
        Binding(
            "P", "trust", "Pin (trust) the certificate the server presents", id="channels.trust"
        ),
        Binding("d,delete", "remove", "Remove", id="channels.remove"),
        Binding("W", "worker", "Worker status", id="channels.worker"),
        Binding("ctrl+r", "reload", "Reload", id="channels.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="channels.back"),
    ]
    EMPTY_HINT = "There is no channel here; press a to add one."
    DEFAULT_CSS = """
    ChannelsScreen #secrets { height: auto; max-height: 3; padding: 0 1; }
    ChannelsScreen #channels { height: auto; max-height: 1fr; }
    ChannelsScreen #empty { padding: 1 1; color: $text-muted; }
    """

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]]) -> None:
            super().__init__()
            self.rows = rows

    class SecretsRead(Message):
        def __init__(self, state: str, reason: str) -> None:
            super().__init__()
            self.state = state
            self.reason = reason

    def __init__(self) -> None:
        super().__init__()
        self.secrets_line = ""  # what #secrets says, as plain text

    def compose(self) -> ComposeResult:
        yield Static(Content("Channels"), id="title")
        yield Static(Content("Secrets: looking…"), id="secrets")
        table: DataTable[Text] = DataTable(cursor_type="row", id="channels")
        table.add_column("Channel", width=14)
        table.add_column("Status", width=8)
        table.add_column("State", width=11)
        table.add_column("Inbound", width=19)
        table.add_column("Outbound", width=14)
        yield table
        yield Static(Content(""), id="empty")
        yield StatusBar("a add  e edit  t test  P trust  d remove  esc back", id="status")

    def on_screen_resume(self) -> None:
        self.reload()  # back from the form: a channel may have been added or changed

    def reload(self) -> None:
        super().reload()
        self._read_secrets()

    @work(
        thread=True,
        exclusive=True,
        group="secrets-status",
        exit_on_error=False,
        description="reading the secret store's status",
    )
    def _read_secrets(self) -> None:
        self.post_message(self.SecretsRead(*secrets_status(self.desk.secrets)))

    def on_channels_screen_secrets_read(self, message: SecretsRead) -> None:
        self.secrets_line = one_line(f"Secrets: {message.state}. {message.reason}")
        self.query_one("#secrets", Static).update(
            Content.assemble(
                ("Secrets: ", "bold"),
                (one_line(message.state), "bold"),
                ". ",
                (one_line(message.reason), "$text-muted"),
            )
        )

    @work(
        thread=True,
        exclusive=True,
        group="load",
        exit_on_error=False,
        description="reading the channels",
    )
    def _load(self) -> None:
        rows = []
        for channel in channels.all_channels():
            inbound = channel.settings["inbound"]
            outbound = channel.settings.get("outbound") or {}
            rows.append(
                {
                    "name": channel.name,
                    "status": channel.status,
                    "state": channel_state(channel)[0],
                    "inbound": f"{inbound['protocol']} {inbound['host']}:{inbound['port']}",
                    "outbound": f"{outbound['host']}:{outbound['port']}" if outbound else "none",
                }
            )
        self.post_message(self.Loaded(rows))

    def on_channels_screen_loaded(self, message: Loaded) -> None:
        current = self.current  # before the new rows: the same channel stays highlighted
        self.rows = message.rows
        table = self.table
        table.clear()
        for row in message.rows:
            table.add_row(
                *(_text(row[k]) for k in ("name", "status", "state", "inbound", "outbound")),
                key=row["name"],
            )
        names = [row["name"] for row in message.rows]
        if current is not None and current["name"] in names:
            table.move_cursor(row=names.index(current["name"]))
        self.query_one("#empty", Static).update(
            Content("")
            if message.rows
            else Content("No channels yet: press a to add one (or use `deskterm channel add`).")
        )

    def action_add(self) -> None:
        self.app.push_screen(ChannelFormScreen(None))

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._open(row["name"], test=False)

    open_row = action_edit

    def action_test(self) -> None:
        row = self._selected()
        if row is not None:
            self._open(row["name"], test=True)

    def _open(self, name: str, *, test: bool) -> None:
        with self.desk.reporting("open the channel"):
            self.app.push_screen(ChannelFormScreen(channels.get(name), test_now=test))

    def action_worker(self) -> None:
        from deskterm.screens.worker_status import WorkerStatusScreen

        self.app.push_screen(WorkerStatusScreen())

    def action_trust(self) -> None:
        from deskterm.screens.trust import TrustScreen

        row = self._selected()
        if row is not None:
            self.app.push_screen(TrustScreen(row["name"]))

    def action_remove(self) -> None:
        from deskterm.screens.prompt import PromptScreen

        row = self._selected()
        if row is None:
            return
        name = row["name"]

        def answered(answer: str | None) -> None:
            if answer is None:
                return
            if answer.strip() != name:
                self.notify(f"Nothing was removed: that is not {name!r}.", markup=False)
                return
            self._remove(name)

        self.app.push_screen(
            PromptScreen(
                f"Remove channel {name!r}, its conversations and its passwords? Type its name:",
                "",
                "Esc cancels. This cannot be undone.",
            ),
            answered,
        )

    @work(thread=True, group="remove", exit_on_error=False, description="removing the channel")
    def _remove(self, name: str) -> None:
        try:
            channels.remove(name, store=self.desk.secrets)
            note = f"Channel {name!r} removed."
        except SecretError as exc:  # the store is locked: remove the channel all the same
            channels.remove(name)
            note = f"Channel {name!r} removed; its passwords were left in the store: {exc}"
        self.app.call_from_thread(self.notify, one_line(note), markup=False)
        self.app.call_from_thread(self.reload)


class ChannelFormScreen(DeskScreen):
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
        self.initial = channel_config.form_values(channel.settings if channel else None)
        self.fields = channel_config.form_fields()
        self.test_now = test_now
        self.config: dict[str, Any] | None = None  # the validated settings, None while invalid
        self.problem = ""
        self.testing = False
        self.saving = False
        self._tested: Channel | None = None

    # --- building the form -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Content(self._title()), id="title")
        with VerticalScroll(id="form"):
            table = None
            for field in self.fields:
                if field.table != table and field.path != OUTBOUND_SWITCH:
                    table = field.table
                    classes = "group -first" if table == "" else "group"
                    yield Static(Content(GROUPS[table]), classes=classes)
                yield self._row(field)
                if field.key == "username" and field.table in channels.SIDES:
                    yield self._password_row(field.table)
        yield Static(Content(""), id="hint")
        yield Static(Content(""), id="problem")
        yield StepList(id="steps")
        with Horizontal(id="buttons"):
            yield Button("Save", id="save", variant="primary", compact=True)
            yield Button("Test", id="test", compact=True)
            yield Button("Back", id="back", compact=True)
        yield StatusBar("ctrl+s save  ctrl+t test  esc back", id="status")

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
        placeholder = (
            "stored; type a new one to replace it"
            if self.original
            else "stored on Save, never shown"
        )
        control = Input(password=True, placeholder=placeholder, compact=True, id=f"pw-{side}")
        return Horizontal(Label(Content("password")), control, classes="row", id=f"row-pw-{side}")

    def on_mount(self) -> None:
        self.check()
        first = self.query_one(f"#{field_id('name')}", Input)
        first.focus()
        if self.test_now:
            self.call_after_refresh(self.action_test)

    # --- reading and checking ----------------------------------------------------------

    def control(self, path: str) -> Input | Select[str] | Switch:
        return self.query_one(f"#{field_id(path)}")  # type: ignore[return-value]

    def values(self) -> dict[str, Any]:
        """The form as `channel_config.from_form` reads it: text, choices and switches."""
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
            self.config = channel_config.validate(channel_config.from_form(values))
            self.problem = ""
        except ConfigError as exc:
            self.config = None
            self.problem = one_line(str(exc))
        for side in channels.SIDES:
            port = channel_config.default_port(values, side)
            self.control(f"{side}.port").placeholder = f"empty: {port}" if port else ""  # type: ignore[union-attr]
        outbound_on = bool(values[OUTBOUND_SWITCH])
        for row in self.query(".row"):
            row.remove_class("-invalid")
            if row.id and row.id.startswith(("row-f-outbound--", "row-pw-outbound")):
                row.disabled = not outbound_on
        named = channel_config.field_in_error(self.problem) if self.problem else None
        if named:
            self.query_one(f"#row-{field_id(named)}").add_class("-invalid")
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
        if wid.startswith("pw-"):
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

    def action_save(self) -> None:
        if self.config is None:
            self.notify(f"Not saved: {self.problem}", severity="error", markup=False)
            return
        if self.saving:
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
            self.post_message(self.Saved(config["name"], str(exc)))
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
            self.notify(one_line(message.error), severity="error", markup=False, timeout=10)
            return
        self.notify(f"Channel {message.name!r} saved.", markup=False)
        self.app.pop_screen()

    # --- the connection test -----------------------------------------------------------

    def action_test(self) -> None:
        if self.testing:
            self.notify("The test is still running.", markup=False)
            return
        if self.config is None:
            self.notify(f"Cannot test yet: {self.problem}", severity="error", markup=False)
            return
        self.testing = True
        button = self.query_one("#test", Button)
        button.disabled = True
        button.label = "Testing…"
        unsaved = " (unsaved settings)" if self.original is None or self.dirty else ""
        self.query_one(StepList).clear(f"Connection test of {self.config['name']}{unsaved}:")
        self._run_test(self.config, self.original, self.passwords())

    @work(
        thread=True,
        exclusive=True,
        group="conntest",
        exit_on_error=False,
        description="testing the connection",
    )
    def _run_test(
        self, config: dict[str, Any], original: str | None, typed: dict[str, str]
    ) -> None:
        trial = None
        ok = False
        try:
            trial = channels.trial(config, original)
            store = channels.TypedPasswords(trial, typed, self.desk.secrets)
            results = conntest.run(trial, store, on_step=lambda r: self._tell(self._step, r))
            ok = bool(results) and all(r.ok for r in results)
        finally:
            self.post_message(self.Tested(trial, ok))

    def _tell(self, callback: Callable[..., None], *args: Any) -> None:
        """From the test's thread: run `callback` on the UI thread, now (each step as it ends)."""
        with contextlib.suppress(RuntimeError):  # the app has stopped
            self.app.call_from_thread(callback, *args)

    def _step(self, result: StepResult) -> None:
        if self.is_attached:
            self.query_one(StepList).add(result)

    def on_channel_form_screen_tested(self, message: Tested) -> None:
        self.testing = False
        button = self.query_one("#test", Button)
        button.disabled = False
        button.label = "Test"
        self._tested = message.trial
        steps = self.query_one(StepList)
        steps.finish("All steps passed." if message.ok else "The test failed.", message.ok)
