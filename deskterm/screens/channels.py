"""The channel list: every channel with its state, and where secrets are kept.

The list's first line says where secrets are kept (the backend `deskterm secrets status`
names, and whether the vault is unlocked), `P` trusts a channel's changed self-signed
certificate again (`screens/trust.py`, as `deskterm channel trust`), and `O` signs an OAuth2
channel in with a code entered in any browser (`screens/sign_in.py`, as `deskterm channel
auth`).

The form that adds and edits a channel is `screens/channel_form.py`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from deskterm import paths
from deskterm.channels import registry as channels
from deskterm.channels import signin
from deskterm.channels.health import channel_state
from deskterm.channels.typed import ChannelConfig
from deskterm.errors import SecretError
from deskterm.sanitize import one_line
from deskterm.screens.channel_form import ChannelFormScreen
from deskterm.screens.table import TableScreen, cell, endpoint_cell, row_table
from deskterm.widgets.status_bar import StatusBar

# Any key makes the vault decrypt itself: reading one tells whether the app's store is open.
STATUS_PROBE = "deskterm/status-probe"
INBOUND_WIDTH, OUTBOUND_WIDTH = 19, 14  # `imap host:port`, `host:port`: the host is cut first


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
        Binding("O", "sign_in", "Sign in with OAuth2 (a code for any browser)", id="channels.auth"),
        Binding("d,delete", "remove", "Remove", id="channels.remove"),
        Binding("W", "worker", "Worker status", id="channels.worker"),
        Binding("ctrl+r", "reload", "Reload", id="channels.reload"),
        Binding("escape,q", "app.pop_screen", "Back", id="channels.back"),
    ]
    EMPTY_HINT = "There is no channel here; press a to add one."
    # Unlike the lists TableScreen cuts at the edge, this table scrolls sideways when narrow.
    DEFAULT_CSS = """
    ChannelsScreen #secrets { height: auto; max-height: 3; padding: 0 1; }
    ChannelsScreen #channels { height: auto; max-height: 1fr; overflow-x: auto; }
    """

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
        yield row_table(
            (
                ("Channel", 14),
                ("Status", 8),
                ("State", 11),
                ("Inbound", INBOUND_WIDTH),
                ("Outbound", OUTBOUND_WIDTH),
            ),
            id="channels",
        )
        yield Static(Content(""), id="empty")
        yield StatusBar(
            "a add  e edit  t test  P trust  O sign in  d remove  esc back", id="status"
        )

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
            config = ChannelConfig.of(channel)
            inbound, outbound = config.inbound, config.outbound
            rows.append(
                {
                    "name": channel.name,
                    "status": channel.status,
                    "state": channel_state(channel)[0],
                    "inbound": (f"{inbound.protocol} ", inbound.host, inbound.port),
                    "outbound": ("", outbound.host, outbound.port) if outbound else None,
                }
            )
        self.post_message(self.Loaded(rows))

    def on_table_screen_loaded(self, message: TableScreen.Loaded) -> None:
        self.fill(
            message.rows,
            self._cells,
            "name",
        )
        self.query_one("#empty", Static).update(
            Content("")
            if message.rows
            else Content("No channels yet: press a to add one (or use `deskterm channel add`).")
        )

    @staticmethod
    def _cells(row: dict[str, Any]) -> list[Text]:
        outbound = row["outbound"]
        return [
            *(cell(row[key]) for key in ("name", "status", "state")),
            endpoint_cell(*row["inbound"], INBOUND_WIDTH),
            endpoint_cell(*outbound, OUTBOUND_WIDTH) if outbound else cell("none"),
        ]

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

    def action_sign_in(self) -> None:
        """The device sign-in for each OAuth2 table the channel has (one, but two for sides
        with tables of their own), one dialog after the other."""
        from deskterm.screens.sign_in import SignInScreen

        row = self._selected()
        if row is None:
            return
        with self.desk.reporting("sign the channel in"):
            tables = signin.oauth2_tables(channels.get(row["name"]))
            name = row["name"]

            def next_one(signed_in: bool | None = True) -> None:
                if signed_in and tables:
                    self.app.push_screen(SignInScreen(name, tables.pop(0)), next_one)

            next_one()

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
