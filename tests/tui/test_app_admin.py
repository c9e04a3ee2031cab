"""The admin's screens as a new admin reads them (issue 14): the channel Test shows the step
that failed, the tables never cut a value into another value, and what the worker screen,
the form and the toasts say agrees with itself, in plain words.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.channels import registry as channels
from deskterm.screens.channels import ChannelsScreen
from deskterm.store import connection
from deskterm.widgets.step_list import StepList
from tests.conftest import Desk, channel_toml
from tests.tui.test_app import drive, notices, screen_text, settle, until
from tests.tui.test_app_channels import SUPPORT, form, open_form, type_into

# --- bug 4: a cut value ends in an ellipsis, and a port is never cut -----------------------


def test_the_channel_list_never_cuts_a_port_into_another_port(demo_desk: None) -> None:
    demo = channels.get("demo").settings
    channels.add(
        {
            **demo,
            "name": "long-host",
            "inbound": {**demo["inbound"], "host": "127.0.0.1", "port": 13993},
            "outbound": {**demo["outbound"], "host": "smtp.example.com", "port": 14587},
        }
    )

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        line = next(x for x in screen_text(app).splitlines() if "long-host" in x)
        assert ":13993" in line, line
        assert ":14587" in line, line
        assert "1399 " not in line and "1399│" not in line
        assert "…:14587" in line  # the host was cut, and says so

    drive(scenario)


def test_a_value_cut_by_its_column_ends_in_an_ellipsis(demo_desk: None) -> None:
    demo = channels.get("demo").settings
    channels.add({**demo, "name": "a-channel-name-far-too-long-for-its-column"})

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        line = next(x for x in screen_text(app).splitlines() if x.startswith(" a-channel"))
        assert "a-channel-nam…" in line, line

    drive(scenario)


def test_the_rest_of_the_line_is_cut_with_an_ellipsis_not_by_the_screen_edge(
    demo_desk: None,
) -> None:
    from deskterm.outbound import drafts

    drafts.send(drafts.Draft(4, body="Hello Lukas, fixed."))  # queued: the demo is a draft

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("O")
        await settle(pilot)
        line = next(x for x in screen_text(app).splitlines() if " #4 " in x)
        assert line.rstrip().endswith("…"), line  # the detail column, its sentence cut

    drive(scenario)


# --- bug 3: the failed step of a channel Test is shown, highlighted -------------------------


@pytest.mark.mailserver
@pytest.mark.parametrize("size", [(80, 24), (120, 60)])
def test_a_failed_step_stays_in_view_and_is_highlighted(
    desk: Desk, mail_servers, size: tuple[int, int]
) -> None:
    password = mail_servers.users[SUPPORT]
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    connection.open_database()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_form(pilot, "enter")
        await type_into(pilot, "pw-inbound", "wrong-" + password)
        await pilot.press("ctrl+t")
        steps = form(app).query_one(StepList)
        await until(pilot, lambda: steps.verdict, timeout=30)
        await pilot.pause()
        await pilot.pause()
        shown = screen_text(app)
        assert "FAIL  IMAP login" in shown, shown
        failed = steps.query(".-failed")
        assert len(failed) == 1 and "IMAP login" in str(failed.first().content)
        if size[1] >= 60:  # room for every step: all of them are shown, and the verdict
            for result in steps.results:
                assert result.name in shown, result.name
            assert "The test failed." in shown

    drive(scenario, size=size)


# --- bug 7: the worker screen agrees with itself ------------------------------------------


def test_a_good_run_does_not_read_error_ok(demo_desk: None) -> None:
    from deskterm.store import db
    from deskterm.store.models import JobRun

    JobRun.create(channel=channels.get("demo"), fetched=1, ingested=1, finished_at=db.utcnow())

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("W")
        await settle(pilot)
        shown = screen_text(app)
        assert " ok " in shown or shown.rstrip().endswith("ok"), shown
        assert "Error" not in shown, shown

    drive(scenario, size=(120, 40))


# --- bug 7: toasts are small, errors do not linger, and say "sent" in plain words ----------


def test_a_sent_reply_is_said_in_plain_words(demo_desk: None) -> None:
    from deskterm.engine.events import DeliveryResult

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app._on_engine_event(DeliveryResult(12, "sent", "2.0.0 Ok: queued as 4fXyZ1"))
        app._on_engine_event(DeliveryResult(4, "queued", "The SMTP server did not answer."))
        await pilot.pause()
        said = notices(app)
        assert "Reply to #12: sent; the mail server accepted it." in said, said
        assert not any("2.0.0" in n or "queued as" in n for n in said), said
        assert (
            "Reply to #4: not sent yet, it will be tried again: The SMTP server did not answer."
        ) in said

    drive(scenario)


def test_toasts_are_small_at_80x24_and_an_error_goes_when_an_action_goes_well(
    demo_desk: None,
) -> None:
    from textual.widgets._toast import Toast

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.notify("The IMAP server refused the login.", severity="error", timeout=30)
        await pilot.pause()
        error = next(n for n in app._notifications if n.severity == "error")
        assert error.timeout <= 6  # an error does not stay for the next half minute
        toast = app.screen.query_one(Toast)
        assert toast.outer_size.height <= 2, toast.outer_size  # one line of text, no blanks
        app.notify("Reply queued for alice@example.com.")
        await pilot.pause()
        assert notices(app) == ["Reply queued for alice@example.com."]

    drive(scenario)


# --- bug 7: the form and the channel list agree on whether a password is stored ------------


def test_the_demo_form_does_not_claim_a_password_the_list_says_is_not_there(
    demo_desk: None,
) -> None:
    from textual.widgets import Input

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("C")
        await settle(pilot)
        listed = app.screen
        assert isinstance(listed, ChannelsScreen)
        assert listed.secrets_line.startswith("Secrets: the vault, not made yet")
        await pilot.press("escape")
        await open_form(pilot, "enter")  # the demo channel
        await settle(pilot)
        for side in ("inbound", "outbound"):
            hint = app.screen.query_one(f"#pw-{side}", Input).placeholder
            assert hint.startswith("none stored"), (side, hint)

    drive(scenario)


def test_a_channel_that_works_again_takes_its_error_toast_away(demo_desk: None) -> None:
    from deskterm.engine.events import RunFinished
    from deskterm.store.models import JobRun

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app._on_engine_event(RunFinished("demo", JobRun(error="The IMAP server refused.")))
        app._on_engine_event(RunFinished("other", JobRun(error="The server did not answer.")))
        await pilot.pause()
        assert len(notices(app)) == 2
        app._on_engine_event(RunFinished("demo", JobRun(error=None)))  # the next poll went well
        await pilot.pause()
        assert notices(app) == ["other: The server did not answer."]

    drive(scenario)


def test_a_failing_channel_being_polled_again_says_polling(demo_desk: None) -> None:
    """IDLE signs in again (a fixed password) and polls at once: while that poll runs, the
    row does not say "failing" beside "IDLE connected"."""
    from deskterm.store import db
    from deskterm.store.models import Channel, JobRun

    Channel.update(
        status="active", failing_since=db.utcnow(), last_error="The IMAP server refused."
    ).where(Channel.name == "demo").execute()
    JobRun.create(channel=channels.get("demo"), kind="poll")  # running: not finished

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("W")
        await settle(pilot)
        line = next(x for x in screen_text(app).splitlines() if x.startswith(" demo "))
        assert "polling" in line and "failing" not in line, line

    drive(scenario)
