"""Channel settings in the terminal: the list, the form checked as you type, Save and Test.

The form must agree with the channel file to the key: a channel added through it is stored
exactly as `deskterm channel add --file` would store the same TOML, its password lands in the
vault (never the database), and its Test button runs the real connection test, one step at a
time, against the suite's Dovecot and Postfix, while the keyboard keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import tomllib
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static, Switch

from deskterm.app import DeskApp
from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.channels.config import parse_channel_text
from deskterm.errors import ConfigError
from deskterm.screens.channel_fields import OUTBOUND_SWITCH, form_fields, form_values, from_form
from deskterm.screens.channel_form import ChannelFormScreen, field_id
from deskterm.screens.channels import ChannelsScreen
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import Channel
from deskterm.widgets.step_list import StepList
from tests.cli.test_channel_test import EVERY_STEP
from tests.conftest import Desk, channel_toml
from tests.tui.test_app import drive, make_app, notices, screen_text, settle, until

SUPPORT = "support@desk.test"


# --- helpers -------------------------------------------------------------------------------


def form(app: DeskApp) -> ChannelFormScreen:
    assert isinstance(app.screen, ChannelFormScreen), type(app.screen)
    return app.screen


def problem(app: DeskApp) -> str:
    return str(form(app).query_one("#problem", Static).content)


async def open_form(pilot: Pilot[None], *keys: str) -> None:
    """From the conversation list: C (channels), then `keys` (a: new, enter: edit)."""
    await pilot.press("C")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChannelsScreen)
    await pilot.press(*keys)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChannelFormScreen)


async def type_into(pilot: Pilot[None], path: str, text: str) -> None:
    """Focus a field (as Tab would), select what it holds with keys, and type over it."""
    wid = path if path.startswith("pw-") else field_id(path)
    box = pilot.app.screen.query_one(f"#{wid}", Input)
    pilot.app.screen.set_focus(box)
    await pilot.press("home", "shift+end", "backspace", *text)
    await pilot.pause()


async def fill_form(pilot: Pilot[None], toml: str) -> None:
    """Enter a channel file's values into the form, key by key, as an admin would."""
    raw = tomllib.loads(toml)
    screen = pilot.app.screen
    for path, value in form_values(channel_config.validate(raw)).items():
        if _lookup(raw, path) is None:
            continue  # left as the form shows it, like a key the file omits
        control = screen.query_one(f"#{field_id(path)}")
        if isinstance(control, Switch):
            if control.value != value:
                screen.set_focus(control)
                await pilot.press("space")
        elif isinstance(control, Select):
            control.value = value
        else:
            await type_into(pilot, path, value)
    await pilot.pause()


def _lookup(raw: dict, path: str) -> object:
    table: object = raw
    for part in path.split("."):
        if not isinstance(table, dict) or part not in table:
            return None
        table = table[part]
    return table


# --- the form and the channel file ----------------------------------------------------------


def test_the_form_has_every_key_of_the_channel_file() -> None:
    paths = {f.path for f in form_fields()}
    expected = {*channel_config.TOP, OUTBOUND_SWITCH}
    for table, spec in (
        ("inbound", channel_config.INBOUND),
        ("outbound", channel_config.OUTBOUND),
        ("reading", channel_config.READING),
        ("tickets", channel_config.TICKETS),
        ("inbound.oauth2", channel_config.OAUTH2),
        ("outbound.oauth2", channel_config.OAUTH2),
        ("oauth2", channel_config.CHANNEL_OAUTH2),
    ):
        expected |= {f"{table}.{key}" for key in spec if key != "oauth2"}
    assert paths == expected


def test_form_values_round_trip_through_validate() -> None:
    toml = """
name = "x"
status = "active"
[inbound]
host = "imap.example.com"
port = 1993
username = "a@example.com"
folders = ["INBOX", "Support, EU"]
skip_windows = ["02:00-04:00"]
password_command = ["pass", "show", "mail/my box"]
timeout = 12.5
[inbound.oauth2]
client_id = "id"
token_url = "https://login.example.com/token"
[reading]
exclude_from_addresses = ["*@noreply.example.com"]
"""
    config = parse_channel_text(toml)
    values = form_values(config)
    assert values["inbound.folders"] == '["INBOX", "Support, EU"]'
    assert values["inbound.password_command"] == "pass show 'mail/my box'"
    assert values["outbound"] is False
    assert channel_config.validate(from_form(values)) == config


def test_the_tickets_table_and_its_mappings_round_trip_through_the_form() -> None:
    toml = r"""
name = "x"
[inbound]
host = "imap.example.com"
username = "a@example.com"
[tickets]
types = ["billing", "question"]
default_type = "billing"
email_as_attachment = true
mappings = [
  { field = "order", source = "subject", pattern = 'order "#(\d+)' },
  { field = "ref", source = "header", header = "X-Ref", default = "none" },
]
"""
    config = parse_channel_text(toml)
    values = form_values(config)
    assert values["tickets.types"] == "billing, question"
    assert values["tickets.mappings"] == (
        '[{field = "order", source = "subject", pattern = "order \\"#(\\\\d+)"}, '
        '{field = "ref", source = "header", header = "x-ref", default = "none"}]'
    )
    assert channel_config.validate(from_form(values)) == config
    values["tickets.mappings"] = '[{field = "order", source = "smell"}]'
    with pytest.raises(ConfigError, match=r"tickets\.mappings\[1\]\.source"):
        channel_config.validate(from_form(values))


def test_the_oauth2_table_round_trips_through_the_form() -> None:
    toml = """
name = "m365"
[inbound]
host = "outlook.office365.com"
username = "support@example.com"
auth = "oauth2"
[oauth2]
provider = "microsoft"
tenant_id = "organizations"
client_id = "desk-app"
"""
    config = parse_channel_text(toml)
    values = form_values(config)
    assert (values["oauth2.provider"], values["oauth2.scope"]) == ("microsoft", "")
    assert channel_config.validate(from_form(values)) == config
    values["oauth2.provider"] = ""  # emptied while a side still signs in with it
    with pytest.raises(ConfigError, match=r"oauth2\.provider"):
        channel_config.validate(from_form(values))


# --- validation as you type (demo desk) ---------------------------------------------------------


def test_a_bad_port_is_named_at_once_and_save_waits_for_the_fix(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "enter")  # the demo channel
        assert problem(app) == "✓ Every setting is valid."
        # Keyboard only: Tab to the inbound port (name, status, protocol, host, port).
        await pilot.press("tab", "tab", "tab", "tab")
        assert app.focused is form(app).query_one(f"#{field_id('inbound.port')}")
        await pilot.press(*"99x")
        await pilot.pause()
        assert problem(app) == "✗ inbound.port must be a whole number from 1 to 65535."
        assert "inbound.port must be a whole number" in screen_text(app)
        assert form(app).query_one(f"#row-{field_id('inbound.port')}").has_class("-invalid")
        assert form(app).query_one("#save", Button).disabled
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Not saved: inbound.port must be a whole number from 1 to 65535." in notices(app)
        assert isinstance(app.screen, ChannelFormScreen)
        await pilot.press("backspace")
        await pilot.pause()
        assert problem(app) == "✓ Every setting is valid."
        assert not form(app).query_one(f"#row-{field_id('inbound.port')}").has_class("-invalid")
        save = form(app).query_one("#save", Button)
        assert not save.disabled
        # Keyboard only: Shift+Tab back past the top wraps to the buttons; Enter presses Save.
        for _ in range(10):
            if app.focused is save:
                break
            await pilot.press("shift+tab")
        assert app.focused is save
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        assert "Channel 'demo' saved." in notices(app)

    drive(scenario)
    assert channels.get("demo").settings["inbound"]["port"] == 99


def test_other_mistakes_are_the_channel_files_sentences(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "enter")
        await type_into(pilot, "outbound.from", "not an address")
        assert "outbound.from = 'not an address' is not an email address" in problem(app)
        await type_into(pilot, "outbound.from", "Help <help@acme.example>")
        await type_into(pilot, "inbound.skip_windows", "2-4")
        assert "inbound.skip_windows: '2-4' is not a time window" in problem(app)
        await type_into(pilot, "inbound.skip_windows", "02:00-04:00")
        await type_into(pilot, "name", "bad name")
        assert problem(app).startswith("✗ name may hold only letters")
        await type_into(pilot, "name", "demo")
        assert problem(app) == "✓ Every setting is valid."
        # A channel that only reads mail: [outbound] is switched off, its fields too.
        app.screen.set_focus(form(app).query_one(f"#{field_id('outbound')}"))
        await pilot.press("space")
        await pilot.pause()
        assert form(app).query_one(f"#row-{field_id('outbound.host')}").disabled
        await pilot.press("ctrl+s")
        await settle(pilot)

    drive(scenario)
    stored = channels.get("demo").settings
    assert stored["outbound"] is None
    assert stored["inbound"]["skip_windows"] == ["02:00-04:00"]


def test_escape_with_unsaved_changes_asks_first(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "enter")
        await type_into(pilot, "inbound.host", "imap.elsewhere.invalid")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelFormScreen)
        assert any("unsaved changes" in n for n in notices(app))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)

    drive(scenario)
    assert channels.get("demo").settings["inbound"]["host"] == "imap.acme-demo.invalid"


# --- the Test button ---------------------------------------------------------------------------


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_the_test_runs_in_a_thread_and_the_keys_keep_working(demo_desk: None) -> None:
    with silent_server() as port:

        async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
            await open_form(pilot, "enter")
            await type_into(pilot, "inbound.host", "127.0.0.1")
            await type_into(pilot, "inbound.port", str(port))
            app.screen.query_one(f"#{field_id('inbound.security')}", Select).value = "none"
            # Long enough that the typing below ends while the test still waits, even on a
            # busy machine (3 s was not).
            await type_into(pilot, "inbound.timeout", "8")
            await type_into(pilot, "pw-inbound", "typed-not-saved")
            app.screen.set_focus(form(app).query_one(f"#{field_id('outbound')}"))
            await pilot.press("space")  # no [outbound]: only the hung server is tested
            await pilot.press("ctrl+t")
            steps = form(app).query_one(StepList)
            await until(pilot, lambda: any(r.name == "IMAP connect" for r in steps.results))
            # The greeting never comes: the test waits on the network, the UI does not.
            assert form(app).testing
            await type_into(pilot, "inbound.username", "still@typing.example")
            await pilot.press("tab")
            assert form(app).testing
            assert app.focused is form(app).query_one("#pw-inbound")
            await until(pilot, lambda: not form(app).testing, timeout=20)
            names = [(r.name, r.ok) for r in steps.results]
            assert names == [
                ("IMAP security", True),
                ("IMAP connect", True),
                ("IMAP greeting", False),
            ]
            assert "in clear" in steps.results[0].warning
            assert steps.verdict == "The test failed."
            await settle(pilot)  # the last step is in; let the screen draw it
            text = screen_text(app)
            assert "PASS  IMAP connect" in text and "FAIL  IMAP greeting" in text

        drive(scenario)
    assert channels.get("demo").settings["inbound"]["host"] == "imap.acme-demo.invalid"


@pytest.mark.mailserver
def test_adding_a_channel_through_the_form(desk: Desk, mail_servers) -> None:
    password = mail_servers.users[SUPPORT]
    toml = channel_toml(mail_servers)
    connection.open_database()  # as `deskterm` does before it opens the app

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        assert problem(app) == "✗ name must not be empty."
        await fill_form(pilot, toml)
        await type_into(pilot, "pw-inbound", password)
        await type_into(pilot, "pw-outbound", password)
        assert problem(app) == "✓ Every setting is valid."
        await pilot.press("ctrl+t")
        await until(pilot, lambda: not form(app).testing, timeout=30)
        assert form(app).query_one(StepList).verdict == "All steps passed."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        assert "support" in screen_text(app)

    drive(scenario, app=make_app())
    channel = channels.get("support")
    assert channel.settings == parse_channel_text(toml)
    assert channel.inbound_pin and channel.outbound_pin  # pinned by the test, kept by Save
    store = open_secret_store()
    for side in channels.SIDES:
        assert store.get(channels.secret_key(channel, side)) == password
    assert password.encode() not in (desk.home / "desk.sqlite3").read_bytes()
    assert password.encode() not in (desk.home / "vault.bin").read_bytes()
    # And the CLI agrees that it works.
    assert desk.run("channel", "test", "support").stdout.splitlines()[-1] == "All steps passed."


@pytest.mark.mailserver
def test_the_test_button_passes_against_the_real_servers(desk: Desk, mail_servers) -> None:
    password = mail_servers.users[SUPPORT]
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    connection.open_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "t")  # t on the list opens the channel and starts its test
        steps = form(app).query_one(StepList)
        await until(pilot, lambda: steps.verdict, timeout=30)
        names = [r.name for r in steps.results if r.ok]
        assert names == EVERY_STEP
        assert steps.verdict == "All steps passed."
        text = steps.text
        assert "PASS  IMAP login" in text and " ms  " in text
        assert "from the secret store" in text

    drive(scenario, size=(120, 40))


async def refused_test(app: DeskApp, pilot: Pilot[None], wrong: str) -> StepList:
    """Open the channel's form, type `wrong` as its inbound password (typed, not saved: the
    test uses it) and run the test (ctrl+t) until it has a verdict."""
    await open_form(pilot, "enter")
    await type_into(pilot, "pw-inbound", wrong)
    await pilot.press("ctrl+t")
    steps = form(app).query_one(StepList)
    await until(pilot, lambda: steps.verdict, timeout=30)
    return steps


@pytest.mark.mailserver
def test_a_wrong_password_fails_the_test_in_one_sentence(desk: Desk, mail_servers) -> None:
    """The sentence names the form's password box (the TUI's key), never a CLI command."""
    password = mail_servers.users[SUPPORT]
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    connection.open_database()
    wrong = "wrong-" + password

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        steps = await refused_test(app, pilot, wrong)
        failed = [r for r in steps.results if not r.ok]
        assert [r.name for r in failed] == ["IMAP login"]
        assert (
            failed[0].detail.startswith("The IMAP server 127.0.0.1:")
            and (
                "refused the login for support@desk.test: wrong user name or password; set it "
                "again with the password box of the channel's form (e on the channel screen)."
            )
            in failed[0].detail
        )
        assert steps.verdict == "The test failed."
        assert "FAIL  IMAP login" in steps.text
        assert "deskterm channel" not in steps.text
        assert "set it again with the password box of the channel's form" in steps.text
        assert any(r.name == "SMTP AUTH" and r.ok for r in steps.results)  # stored one
        assert wrong not in screen_text(app)

    drive(scenario, size=(120, 40))
    store = open_secret_store()
    channel = channels.get("support")
    assert store.get(channels.secret_key(channel, "inbound")) == password  # never saved
    assert wrong.encode() not in (desk.home / "desk.sqlite3").read_bytes()


# --- the list -------------------------------------------------------------------------------


def test_removing_a_channel_asks_for_its_name(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press(*"dem", "enter")
        await settle(pilot)
        assert Channel.select().count() == 1
        await pilot.press("d")
        await settle(pilot)
        await pilot.press(*"demo", "enter")
        await settle(pilot)
        await until(pilot, lambda: "No channels yet" in screen_text(app))

    drive(scenario)
    assert Channel.select().count() == 0


# --- what it looks like ------------------------------------------------------------------------


async def _form_open(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("C")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.press("tab", "tab", "tab", "tab", *"99x")  # the port, wrong
    await pilot.pause()


def test_channel_form_snapshot(snap_compare, demo_desk: None) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_form_open)


def test_the_app_exits_cleanly_with_the_form_open(demo_desk: None) -> None:
    """ctrl+q in a half-filled channel form quits the app at once, with code 0 (nothing asks,
    nothing fails), and the form saves nothing on the way out."""
    app = make_app()
    quit_with: list[int | None] = []

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_form(pilot, "a")
            await type_into(pilot, "name", "half-typed")
            assert app.return_code is None
            await pilot.press("ctrl+q")
            await pilot.pause()
            # Read before leaving run_test, which would end the app itself.
            quit_with.append(app.return_code)

    asyncio.run(main())
    assert quit_with == [0]
    assert not app.is_running
    assert [channel.name for channel in Channel.select()] == ["demo"]


def test_j_k_move_and_a_reload_keeps_the_same_channel_highlighted(demo_desk: None) -> None:
    demo_settings = channels.get("demo").settings
    channels.add({**demo_settings, "name": "zz-second"})

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChannelsScreen)
        assert [r["name"] for r in screen.rows] == ["demo", "zz-second"]
        await pilot.press("j")
        assert screen.current is not None and screen.current["name"] == "zz-second"
        channels.add({**demo_settings, "name": "aa-first"})  # sorts above the highlighted one
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert [r["name"] for r in screen.rows] == ["aa-first", "demo", "zz-second"]
        assert screen.current is not None and screen.current["name"] == "zz-second"
        await pilot.press("k")
        assert screen.current["name"] == "demo"

    drive(scenario)
