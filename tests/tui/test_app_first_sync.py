"""The open app stays usable while its worker syncs a 10,000-message mailbox for the first time.

The real app (worker on) on a desk with one IMAP channel to the suite's Dovecot, whose INBOX
holds 10,000 messages. While the first sync is still running, keys move the cursor, page
down, open the search and type into it, and each one is seen to take effect before the sync
ends: a UI blocked until the sync finished would fail every check. Then the sync completes
and every message is in the desk and in the list, without a restart.

No keystroke is timed here: how fast keys are during a sync is measured by
bench/ui_during_sync.py, against the same app idle in the same run.

Keys go in as `pilot.press` sends them, but without its wait for the whole process to go
idle (textual's `wait_for_idle` compares the process's CPU time with the clock, and the
worker's ingest thread keeps the process busy, so every press would wait up to 2 s and the
sync would be over before the keys were). Each check waits for the key's effect instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from bench.first_sync import load_mailbox
from deskterm.app import DeskApp
from deskterm.desk import list_index
from deskterm.screens.conversations import ConversationsScreen
from deskterm.store import connection
from deskterm.store.models import Conversation, JobRun, Message
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail
from tests.tui.test_app import screen_text, the_list, until

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
COUNT = 10_000
TOPICS = (b"printer", b"invoice", b"coffee", b"login", b"export")
NEWEST = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
TEMPLATE_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def mailbox(count: int) -> list[bytes]:
    """count distinct customer mails, one conversation each, message i on topic i % 5.

    One `make_mail` is the template (10,000 calls of it take 10 s, the substitutions 0.1 s).
    Each message is a minute older than the one before it, so the list (newest first) grows
    at its end as the sync commits in UID order: what is at the top stays there, and row i is
    "Ticket i" throughout.
    """
    template = make_mail(
        "Ticket NNNNN: the TOPIC is broken",
        sender="Customer NNNNN <customer.NNNNN@customer.example>",
        body="Hello,\n\nticket NNNNN: since this morning the TOPIC is broken.\n",
        message_id="<first-sync-NNNNN@customer.example>",
        date=TEMPLATE_DATE,
    )
    stamp = format_datetime(TEMPLATE_DATE).encode()
    assert template.count(stamp) == 1
    return [
        template.replace(b"NNNNN", b"%05d" % i)
        .replace(b"TOPIC", TOPICS[i % len(TOPICS)])
        .replace(stamp, format_datetime(NEWEST - timedelta(minutes=i)).encode())
        for i in range(count)
    ]


def ticket(row: int) -> str:
    return f"Ticket {row:05d}"


@pytest.fixture
def full_inbox(mail_servers) -> Iterator[None]:
    """support@'s INBOX with COUNT messages, written straight into its Maildir and indexed
    by doveadm (about 3 s; measured here, APPENDs over one connection would take 50 s and the
    fixture's `append`, a connection each, 4 min), emptied again afterwards."""
    mail_servers.clear(SUPPORT)
    load_mailbox(mail_servers, mailbox(COUNT))
    yield
    mail_servers.clear(SUPPORT)


def the_run() -> JobRun | None:
    return JobRun.select().order_by(JobRun.id.desc()).first()


def syncing() -> str | None:
    """None while the first sync still runs; else what shows it does not."""
    run, stored = the_run(), Message.select().count()
    if run is None:
        return "the worker has not started the first sync"
    if run.finished_at is not None:
        return f"the first sync has ended ({stored} messages stored, error: {run.error})"
    if stored >= COUNT:
        return f"all {stored} messages are already stored"
    return None


def press_now(app: DeskApp, key: str) -> None:
    """A key as a terminal (and pilot.press) sends it; see the module docstring."""
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))  # type: ignore[union-attr]


async def press(pilot: Pilot[None], key: str, took_effect: Callable[[], object]) -> None:
    press_now(pilot.app, key)  # type: ignore[arg-type]
    await until(pilot, took_effect, timeout=60)
    why = syncing()
    assert why is None, f"{key!r} took effect only after the sync: {why}"


def log_tail(home: Path) -> str:
    log = home / "deskterm.log"
    return log.read_text()[-3000:] if log.exists() else "(no deskterm.log)"


def test_keys_work_while_a_10000_message_first_sync_runs(
    desk: Desk, mail_servers, full_inbox: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")  # the first poll, and no other
    desk.add_channel(channel_toml(mail_servers), inbound=mail_servers.users[SUPPORT])
    connection.open_database()
    app = DeskApp()
    seen: dict[str, object] = {}

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
            screen = app.screen
            assert isinstance(screen, ConversationsScreen)
            listing = the_list(app)
            box = screen.query_one("#search", Input)

            # The first batches are in the list and the sync goes on.
            def started() -> bool:
                run = the_run()
                if run is not None and run.finished_at is not None and len(listing.ids) < 100:
                    pytest.fail(
                        f"The first sync ended (error: {run.error}) before the list showed "
                        f"its first rows.\n{log_tail(desk.home)}"
                    )
                return len(listing.ids) >= 100

            await until(pilot, started, timeout=120)
            assert syncing() is None, syncing()
            seen["rows at the first key"] = len(listing.ids)
            assert listing.cursor == 0 and ticket(0) in screen_text(app)

            # Moving in the list: j, down, k.
            for key, step in (("j", 1), ("down", 1), ("k", -1)):
                before = listing.cursor
                wanted = listing.ids[before + step]
                await press(pilot, key, lambda b=before, s=step: listing.cursor == b + s)
                assert listing.current_id == wanted

            # A page down moves the cursor a screen on, and the screen follows it.
            before, height = listing.cursor, listing.scrollable_content_region.height
            target = before + height - 1
            assert ticket(target) not in screen_text(app)
            await press(pilot, "pagedown", lambda: listing.cursor == target)
            assert listing.scroll_offset.y > 0
            await until(pilot, lambda: ticket(target) in screen_text(app))
            assert syncing() is None, syncing()

            # The search opens, takes what is typed, and narrows the list.
            await press(pilot, "slash", lambda: box.has_focus and not box.has_class("-hidden"))
            for end in range(1, 5):
                await press(pilot, "coff"[end - 1], lambda e=end: box.value == "coff"[:e])
            await until(
                pilot,
                lambda: screen.search == "coff" and screen.loaded == screen.generation,
                timeout=60,
            )
            found = list(listing.ids)
            rows = list_index.conversation_rows(found)
            assert found and len(rows) == len(found)
            assert all("coffee" in row["subject"] for row in rows), rows[:3]
            assert len(found) < Conversation.select().count()
            assert "/coff" in screen_text(app)
            why = syncing()
            assert why is None, f"the search narrowed the list only after the sync: {why}"
            seen["rows found while syncing"] = len(found)

            # The sync completes: every message is stored, and listed without a restart.
            await until(
                pilot, lambda: (run := the_run()) and run.finished_at is not None, timeout=600
            )
            run = the_run()
            assert run is not None
            seen["run"] = (run.fetched, run.ingested, run.skipped, run.failed, run.error)
            await pilot.press("escape")
            assert box.has_class("-hidden")
            await until(pilot, lambda: len(listing.ids) == COUNT, timeout=60)
            assert f"1 Open {COUNT}" in screen_text(app)
            await pilot.press("G")
            assert listing.cursor == COUNT - 1
            await until(pilot, lambda: ticket(COUNT - 1) in screen_text(app))

    asyncio.run(main())
    assert seen["run"] == (COUNT, COUNT, 0, 0, None), seen
    assert Message.select().count() == COUNT
    assert Conversation.select().count() == COUNT
    subjects = {c.subject for c in Conversation.select(Conversation.subject)}
    assert subjects == {
        f"{ticket(i)}: the {TOPICS[i % len(TOPICS)].decode()} is broken" for i in range(COUNT)
    }
