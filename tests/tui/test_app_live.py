"""The open app on a real mailbox: a mail delivered over SMTP shows up by itself (IDLE)."""

from __future__ import annotations

import asyncio

import pytest

from deskterm.app import DeskApp
from deskterm.engine.events import Event, Note
from deskterm.store import connection
from deskterm.store.models import JobRun
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail
from tests.tui.test_app import screen_text, the_list, until

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"


def test_a_delivered_mail_appears_in_the_open_app_by_itself(
    desk: Desk, mail_servers, monkeypatch
) -> None:
    """Through IDLE: the next poll is an hour away. How quickly: `bench.idle_latency`."""
    mail_servers.clear(SUPPORT)
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")  # only IDLE can be this quick
    desk.add_channel(channel_toml(mail_servers), inbound=mail_servers.users[SUPPORT])
    connection.open_database()
    app = DeskApp()
    seen: dict[str, int] = {}
    heard: list[str] = []
    original = DeskApp._heard

    def listen(self: DeskApp, event: Event) -> None:
        if isinstance(event, Note):
            heard.append(event.message)
        original(self, event)

    monkeypatch.setattr(DeskApp, "_heard", listen)

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "IDLE connected" in heard, timeout=20)
            await until(pilot, lambda: JobRun.select().count() >= 1, timeout=20)
            mail_servers.deliver(make_mail("The coffee machine is leaking"), SUPPORT)
            await until(pilot, lambda: "coffee mac" in screen_text(app), timeout=10)  # cut
            seen["rows"] = len(the_list(app).ids)

    asyncio.run(main())
    assert seen["rows"] == 1
