"""Skipped mail in the terminal: a list that moves with the keys, and everything stored about
one mail behind Enter, hostile text shown literally and inert.

Skipped mail is made the way a poll makes it: fetched bytes through the real inbound pipeline
(`prepare_batch`, `Ingestor.apply`), which records auto-replies instead of ingesting them.
"""

from __future__ import annotations

import time

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from deskterm import paths
from deskterm.app import DeskApp
from deskterm.desk import queries
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.screens import skipped
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.skipped import SkippedMailScreen, SkippedScreen
from deskterm.store import connection, db
from deskterm.store.models import Channel, SkippedMail
from tests.mailfactory import make_mail
from tests.tui.test_app import _assert_inert, drive, notices, screen_text, settle, until

CHANNEL = "demo"
HOSTILE_SUBJECT = b"[@click=app.quit] Away \x1b[31mRED\x1b[0m \x1b]52;c;aGFja2Vk\x07 [b]bold[/b]"
HOSTILE_RAW = (
    b'From: "[@click=app.quit]Mallory \x1b[2J" <mallory@evil.example>\r\n'
    b"To: support@acme.example\r\n"
    b"Subject: " + HOSTILE_SUBJECT + b"\r\n"
    b"Message-ID: <hostile-auto@evil.example>\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"Date: Mon, 11 Mar 2024 10:20:00 +0000\r\n"
    b"\r\n"
    b"I am away. Click [@click=app.quit]here[/] \x1b]52;c;ZWNobw==\x07 \x1b[8mhidden\x1b[0m\r\n"
)
SHOWN_SUBJECT = "[@click=app.quit] Away [31mRED[0m ]52;c;aGFja2Vk [b]bold[/b]"


def skip_mail(*raws: bytes) -> None:
    """Auto-replies through the real pipeline: each becomes a SkippedMail row."""
    connection.open_database()
    items = [Fetched(f"auto-{index}-{time.monotonic_ns()}", raw) for index, raw in enumerate(raws)]
    prepare_batch(items, None, 100_000, 1024)()
    outcomes = Ingestor(Channel.get(Channel.name == CHANNEL)).apply(items, "INBOX")
    assert [o.kind for o in outcomes] == ["skipped"] * len(raws)


def auto_reply(subject: str, sender: str = "Away Person <away@customer.example>") -> bytes:
    return make_mail(subject, sender=sender, headers={"Auto-Submitted": "auto-replied"})


def table(app: DeskApp) -> DataTable:
    assert isinstance(app.screen, SkippedScreen), type(app.screen)
    return app.screen.query_one(DataTable)


def detail_text(app: DeskApp) -> str:
    """The detail view's text, unwrapped."""
    assert isinstance(app.screen, SkippedMailScreen), type(app.screen)
    return "\n".join(str(widget.content) for widget in app.screen.query(Static))


async def open_skipped(pilot: Pilot[None]) -> SkippedScreen:
    await pilot.press("S")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SkippedScreen)
    return pilot.app.screen


def test_j_k_move_and_enter_shows_everything_stored(demo_desk: None) -> None:
    skip_mail(auto_reply("Out of office until Monday"), auto_reply("Away: back on the 3rd"))
    rows = queries.skipped_list()
    assert [r["subject"] for r in rows[:2]] == [
        "Away: back on the 3rd",
        "Out of office until Monday",
    ]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await open_skipped(pilot)
        assert [r["id"] for r in screen.rows] == [r["id"] for r in rows]
        text = screen_text(app)
        assert "3 skipped mails, newest first (UTC)." in text
        # The subject column ends where the line does, a cut subject with an ellipsis.
        assert "Away: back on the 3rd" in text and "Automatic reply: You…" in text
        assert screen.current_id == rows[0]["id"]
        await pilot.press("j")
        assert screen.current_id == rows[1]["id"]
        # The highlighted mail in full below the table.
        assert "Out of office until Monday" in str(screen.query_one("#detail", Static).content)
        await pilot.press("down", "j")  # the last one, and no further
        assert screen.current_id == rows[2]["id"]
        await pilot.press("k", "up")
        assert screen.current_id == rows[0]["id"]
        await pilot.press("G")
        assert screen.current_id == rows[2]["id"]
        await pilot.press("g", "j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SkippedMailScreen)
        assert app.screen.skipped_id == rows[1]["id"]
        stored = SkippedMail.get_by_id(rows[1]["id"])
        text = detail_text(app)
        for label, value in (
            ("channel", CHANNEL),
            ("reason", "auto-submitted: auto-replied"),
            ("from", "away@customer.example"),
            ("subject", "Out of office until Monday"),
            ("message-id", stored.message_id),
            ("folder", "INBOX"),
            ("uid", stored.uid),
            ("dedup key", stored.dedup_key),
            ("when (UTC)", stored.created_at.isoformat(sep=" ")[:19]),
        ):
            assert f"{label}\n{value}" in text, (label, value)
        pack, _, span = stored.raw_path.partition("#")  # fetched mail is kept in pack files
        offset, _, length = span.partition("+")
        where = f"{paths.mail_dir() / pack}, bytes {offset} to {int(offset) + int(length)}"
        assert f"raw mail\n{where}" in text
        assert "The raw message, as fetched (control characters removed):" in text
        assert "Auto-Submitted: auto-replied" in text  # the raw header, not a stored field
        assert "Hello, my printer is on fire." in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SkippedScreen)
        assert app.screen.current_id == rows[1]["id"]  # where it was
        await pilot.press("escape")
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


def test_a_hostile_skipped_mail_is_shown_literally_and_stays_inert(demo_desk: None) -> None:
    skip_mail(HOSTILE_RAW)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await open_skipped(pilot)
        assert screen.rows[0]["subject"].startswith("[@click=app.quit] Away \x1b[31m")  # stored raw
        detail = str(screen.query_one("#detail", Static).content)
        assert SHOWN_SUBJECT in detail
        assert "[@click=app.quit] Away [31mRED" in screen_text(app)  # the table cell, cut short
        _assert_inert(app)
        # Click the full subject and sender below the table: nothing happens.
        for x in (2, 20, 40):
            await pilot.click(offset=(x, 22))
            await pilot.click(offset=(x, 21), times=2)
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, SkippedScreen)
        # Clicking the subject cell highlights it; a second click opens it, as Enter does.
        await pilot.click(DataTable, offset=(62, 1))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, SkippedScreen)
        await pilot.click(DataTable, offset=(62, 1))
        await settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, SkippedMailScreen)
        text = detail_text(app)
        assert f"subject\n{SHOWN_SUBJECT}" in text
        assert "from\nmallory@evil.example" in text
        assert "Subject: " + SHOWN_SUBJECT in text  # the raw message, controls dropped
        assert 'From: "[@click=app.quit]Mallory [2J" <mallory@evil.example>' in text
        assert "Click [@click=app.quit]here[/] ]52;c;ZWNobw== [8mhidden[0m" in text
        assert "\x1b" not in text and "\x07" not in text
        _assert_inert(app)
        for y in range(1, 20):
            await pilot.click(offset=(20, y))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, SkippedMailScreen)

    drive(scenario)


def test_the_list_is_capped_and_says_so(demo_desk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of skipped mails: the newest SHOWN are listed at once, and the line says how
    many there are and how to list them all."""
    channel = Channel.get(Channel.name == CHANNEL)
    many = 5000
    rows = [
        {
            "channel": channel.id,
            "uid": str(n),
            "from_addr": f"bulk{n}@list.example",
            "subject": f"Newsletter {n}",
            "reason": "list mail (List-Id)",
        }
        for n in range(many)
    ]
    with db.database.atomic():
        for start in range(0, many, 500):
            SkippedMail.insert_many(rows[start : start + 500]).execute()
    total = many + 1  # and the demo's auto-reply

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await open_skipped(pilot)
        assert table(app).row_count == skipped.SHOWN  # not 5001 rows: why it opens at once
        assert screen.rows[0]["subject"] == f"Newsletter {many - 1}"
        assert (
            f"{total} skipped mails; the newest {skipped.SHOWN} are listed (UTC). `deskterm "
            f"skipped --json --limit {total}` lists them all."
        ) in str(screen.query_one("#count", Static).content)
        await pilot.press("G", "k", "g", "j")
        assert screen.current_id == screen.rows[1]["id"]

    drive(scenario)


def test_mail_skipped_while_the_list_is_open_appears(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = await open_skipped(pilot)
        assert len(screen.rows) == 1
        await pilot.press("j")
        first = screen.current_id
        skip_mail(auto_reply("Arrived while looking"))
        app.desk_version += 1  # what the app does when the worker commits a batch
        await until(pilot, lambda: len(screen.rows) == 2)
        assert screen.rows[0]["subject"] == "Arrived while looking"
        assert screen.current_id == first  # the cursor stays on the mail it was on

    drive(scenario)


def test_no_skipped_mail_is_said(demo_desk: None) -> None:
    SkippedMail.delete().execute()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_skipped(pilot)
        assert "No mail was skipped." in screen_text(app)
        await pilot.press("enter")
        assert "No mail was skipped." in notices(app)
        assert isinstance(app.screen, SkippedScreen)

    drive(scenario)


def test_a_raw_message_that_is_gone_is_one_sentence(demo_desk: None) -> None:
    [row] = queries.skipped_list()
    SkippedMail.update(raw_path="ab/missing.eml").where(SkippedMail.id == row["id"]).execute()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_skipped(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = detail_text(app)
        assert "The raw mail ab/missing.eml cannot be read (FileNotFoundError)." in text
        assert "subject\nAutomatic reply: Your request #1042" in text

    drive(scenario)
