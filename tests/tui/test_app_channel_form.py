"""The channel form's friction (issue 14): a refused password is saved only when asked,
errors name the TUI's keys instead of CLI commands, SMTP can take the inbound credentials,
and the basic fields come first with the rest folded away."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Collapsible, Input

from deskterm.app import DeskApp
from deskterm.channels import registry as channels
from deskterm.screens.channel_form import SAME_AS_INBOUND, ChannelFormScreen, field_id
from deskterm.screens.channel_passwords import ConfirmRefusedPasswordScreen
from deskterm.screens.words import tui_words
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from tests.conftest import Desk, channel_toml
from tests.tui.test_app import drive, notices, screen_text, settle, until
from tests.tui.test_app_channels import SUPPORT, form, open_form, refused_test, type_into


def test_engine_sentences_name_the_channel_screens_keys() -> None:
    said = tui_words(
        "refused the login: set it again with `deskterm channel secret support --inbound "
        "--stdin`; or run `deskterm channel trust support`, `deskterm channel auth support`."
    )
    assert "deskterm channel" not in said
    assert "the password box of the channel's form (e on the channel screen)" in said
    assert "P on the channel screen" in said and "O on the channel screen" in said


@pytest.mark.mailserver
def test_saving_a_password_the_test_refused_asks_first(desk: Desk, mail_servers) -> None:
    password = mail_servers.users[SUPPORT]
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    connection.open_database()
    wrong = "wrong-" + password
    stored = []

    def inbound_password() -> str | None:
        channel = channels.get("support")
        return open_secret_store().get(channels.secret_key(channel, "inbound"))

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await refused_test(app, pilot, wrong)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmRefusedPasswordScreen)
        assert "The test refused this inbound password; save it anyway?" in str(
            app.screen.question()
        )
        await pilot.press("n")  # back to the form, nothing saved
        await settle(pilot)
        assert isinstance(app.screen, ChannelFormScreen)
        stored.append(inbound_password())
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")  # saved anyway, as asked
        await settle(pilot)
        await until(pilot, lambda: not isinstance(app.screen, ChannelFormScreen))

    drive(scenario, size=(120, 40))
    assert stored == [password]
    assert inbound_password() == wrong


def test_same_as_inbound_gives_smtp_the_inbound_credentials(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        screen = form(app)
        username = screen.query_one(f"#{field_id('outbound.username')}", Input)
        password = screen.query_one("#pw-outbound", Input)
        await type_into(pilot, "inbound.username", "help@example.com")
        await type_into(pilot, "pw-inbound", "s3cret")
        assert (username.value, password.value) == ("", "")
        screen.set_focus(screen.query_one(f"#{SAME_AS_INBOUND}"))
        await pilot.press("space")
        await pilot.pause()
        assert (username.value, password.value) == ("help@example.com", "s3cret")
        assert username.disabled and password.disabled
        await type_into(pilot, "inbound.username", "desk@example.com")  # kept in step
        await type_into(pilot, "pw-inbound", "other")
        assert (username.value, password.value) == ("desk@example.com", "other")
        assert screen.values()["outbound.username"] == "desk@example.com"
        assert screen.passwords() == {"inbound": "other", "outbound": "other"}
        screen.set_focus(screen.query_one(f"#{SAME_AS_INBOUND}"))
        await pilot.press("space")  # off: the boxes are the user's again, values kept
        await pilot.pause()
        assert not username.disabled and not password.disabled
        await type_into(pilot, "pw-inbound", "third")
        assert password.value == "other"

    drive(scenario, size=(80, 40))


def test_basic_fields_come_first_and_the_rest_is_folded(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "enter")
        screen = form(app)
        advanced = screen.query_one("#advanced", Collapsible)
        assert advanced.collapsed
        text = screen_text(app)
        for shown in ("name", "host", "username", "password", "from", "Advanced"):
            assert shown in text
        assert "password_command" not in text and "max_age_days" not in text
        timeout = screen.query_one(f"#{field_id('inbound.timeout')}", Input)
        # Tab from the basic fields reaches the fold's title, not the folded fields.
        focused = []
        screen.set_focus(screen.query_one(f"#{field_id('name')}"))
        for _ in range(30):
            await pilot.press("tab")
            focused.append(app.focused)
        assert timeout not in focused and advanced.collapsed
        # A folded field in error is shown: a bad timeout unfolds the rest.
        timeout.value = "soon"
        await pilot.pause()
        assert "inbound.timeout" in screen.problem
        assert not advanced.collapsed
        timeout.value = "30"
        await pilot.pause()
        advanced.collapsed = True
        await pilot.pause()
        # So is a folded field focused (a click on the title, then a field, or a search).
        screen.set_focus(screen.query_one(f"#{field_id('inbound.max_age_days')}"))
        await pilot.pause()
        assert not advanced.collapsed
        assert "max_age_days" in screen_text(app)

    drive(scenario, size=(80, 40))


def test_a_polls_refused_login_toast_names_the_tui_key(demo_desk: None) -> None:
    from deskterm.engine.events import RunFinished
    from deskterm.store.models import JobRun

    refused = (
        "The IMAP server x refused the login for a@b.c: wrong user name or password; set it "
        "again with `deskterm channel secret demo --inbound --stdin`."
    )

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app._on_engine_event(RunFinished("demo", JobRun(error=refused)))
        await pilot.pause()
        assert notices(app) == [
            "demo: The IMAP server x refused the login for a@b.c: wrong user name or "
            "password; set it again with the password box of the channel's form (e on the "
            "channel screen)."
        ]

    drive(scenario)


def test_the_worker_screen_names_the_tui_key(demo_desk: None) -> None:
    from datetime import timedelta

    from deskterm.store import db
    from deskterm.store.models import Channel, JobRun
    from tests.tui.test_app_worker import active_demo, open_worker, worker_screen

    refused = (
        "refused the login; set it again with `deskterm channel secret demo --inbound --stdin`."
    )
    active_demo()
    now = db.utcnow()
    Channel.update(
        failing_since=now, last_error=refused, fail_count=1, cool_off_until=now + timedelta(hours=1)
    ).where(Channel.name == "demo").execute()
    JobRun.create(channel=channels.get("demo"), finished_at=now, failed=1, error=refused)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_worker(pilot)
        text = screen_text(app)
        assert "deskterm channel" not in text
        assert "the password box of the channel's form" in str(
            worker_screen(app).query_one("#detail").content
        )

    drive(scenario, size=(160, 40))


def test_a_refused_save_names_the_tui_key(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "a")
        await type_into(pilot, "name", "demo")  # taken: the registry refuses it on Save
        await type_into(pilot, "inbound.host", "imap.example.com")
        await type_into(pilot, "inbound.username", "help@example.com")
        await type_into(pilot, "outbound.host", "smtp.example.com")
        await type_into(pilot, "outbound.username", "help@example.com")
        await type_into(pilot, "outbound.from", "help@example.com")
        assert form(app).config is not None, form(app).problem
        await pilot.press("ctrl+s")
        await settle(pilot)
        said = [n for n in notices(app) if "already exists" in n]
        assert len(said) == 1, notices(app)
        assert "deskterm channel" not in said[0]
        assert "the channel's form (e on the channel screen)" in said[0]

    drive(scenario)
