"""Desk extras from issue 14: the composer's template insert, the download directory for a
saved attachment, rescuing skipped mail from the skipped screen, and the new-mail bell."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk import templates
from deskterm.engine.events import RunFinished
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import parse
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.skipped import SkippedMailScreen, SkippedScreen
from deskterm.store.models import Channel, JobRun, Message, Outbox, SkippedMail
from tests.tui.test_app import drive, notices, settle
from tests.tui.test_app_compose import body, open_composer
from tests.tui.test_app_more import open_the_invoice
from tests.tui.test_app_skipped import CHANNEL, auto_reply, open_skipped, skip_mail, table

pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


# --- the composer's template insert ------------------------------------------------------


def test_a_template_leaves_the_cursor_on_a_new_line_after_it() -> None:
    templates.save("thanks", "Thanks, $contact_name.")  # no newline at its end

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+t", "enter")
        await settle(pilot)
        assert body(app).text == "Thanks, Lukas Schmidt.\n"
        await pilot.press("O", "K")  # typed on the line after the template
        await settle(pilot)
        assert body(app).text == "Thanks, Lukas Schmidt.\nOK"

    drive(scenario)


# --- the directory a saved attachment is proposed in -------------------------------------


def test_w_proposes_the_xdg_download_dir_then_home_never_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, elsewhere, xdg = tmp_path / "home", tmp_path / "cwd", tmp_path / "Téléchargements"
    for directory in (home, elsewhere, xdg):
        directory.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(xdg))

    async def proposed(pilot: Pilot[None]) -> str:
        await pilot.press("w")
        await settle(pilot)
        prompt = pilot.app.screen
        assert isinstance(prompt, PromptScreen)
        await pilot.press("escape")
        await settle(pilot)
        return prompt.value

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_invoice(pilot)
        assert await proposed(pilot) == str(xdg / "INV-2024-0312.pdf")
        monkeypatch.delenv("XDG_DOWNLOAD_DIR")  # no XDG dir and no ~/Downloads: home
        assert await proposed(pilot) == str(home / "INV-2024-0312.pdf")

    drive(scenario)


# --- skipped mail: ingest anyway ---------------------------------------------------------


def newest_skipped() -> SkippedMail:
    return SkippedMail.select().order_by(SkippedMail.id.desc()).get()


def test_i_ingests_a_skipped_mail_anyway_and_it_leaves_the_list() -> None:
    skip_mail(auto_reply("Login broken, please help", "Real Customer <real@customer.example>"))
    row = newest_skipped()  # the list's first row: newest first
    total, outbox_before = SkippedMail.select().count(), Outbox.select().count()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_skipped(pilot)
        assert table(app).row_count == total
        await pilot.press("i")
        await settle(pilot)
        message = Message.get(Message.from_addr == "real@customer.example")
        assert notices(app)[-1] == (
            f"Skipped mail {row.id} ingested into #{message.conversation_id}; no "
            "acknowledgement was sent."
        )
        assert isinstance(app.screen, SkippedScreen)
        assert table(app).row_count == total - 1
        assert SkippedMail.get_or_none(SkippedMail.id == row.id) is None
        assert message.notes["rescued_from"] == "auto-submitted: auto-replied"
        assert Outbox.select().count() == outbox_before

    drive(scenario)


def test_i_on_a_row_whose_raw_message_was_not_kept_says_why() -> None:
    skip_mail(auto_reply("Out of office"))
    row = newest_skipped()
    SkippedMail.update(raw_path=None).where(SkippedMail.id == row.id).execute()
    total = SkippedMail.select().count()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_skipped(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SkippedMailScreen)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, SkippedMailScreen)  # still there
        assert any(
            f"Skipped mail {row.id} cannot be ingested: its raw message was not kept" in n
            for n in notices(app)
        )
        assert SkippedMail.select().count() == total

    drive(scenario)


# --- the new-mail bell -------------------------------------------------------------------

HOSTILE_SUBJECT = (
    b"Refund \x1b]52;c;aGFja2Vk\x07 now\x1b\\ \xc2\x9c\x1b]777;notify;x;pwned\x07 ok; done"
)


def new_mail(subject: bytes) -> None:
    raw = (
        b"From: Real Customer <real@customer.example>\r\nTo: support@acme.example\r\n"
        b"Subject: " + subject + b"\r\nMessage-ID: <bell@customer.example>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
    )
    channel = Channel.get(Channel.name == CHANNEL)
    [outcome] = Ingestor(channel).apply([Fetched("bell-1", b"", parse(raw))])
    assert outcome.kind == "ingested"


def rung(monkeypatch: pytest.MonkeyPatch, mode: str | None, ingested: int = 1) -> list[str]:
    """What the app writes to the terminal when a poll of the demo channel ingested mail."""
    if mode is None:
        monkeypatch.delenv("DESKTERM_NEW_MAIL", raising=False)
    else:
        monkeypatch.setenv("DESKTERM_NEW_MAIL", mode)
    written: list[str] = []

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.new_mail_bell.write = written.append
        app._on_engine_event(RunFinished(CHANNEL, run=JobRun(ingested=ingested)))
        app._on_engine_event(RunFinished(CHANNEL, run=JobRun(ingested=0)))  # nothing new
        await settle(pilot)

    drive(scenario)
    return written


def test_new_mail_is_silent_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rung(monkeypatch, None) == []
    assert rung(monkeypatch, "off") == []


def test_new_mail_rings_the_bell_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rung(monkeypatch, "bell") == ["\a"]


def test_a_desktop_notification_carries_no_sequence_from_the_mail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new_mail(HOSTILE_SUBJECT)
    safe = "a new mail on demo: Refund ]52 c aGFja2Vk now\\ ]777 notify x pwned ok done"
    assert rung(monkeypatch, "osc9") == [f"\x1b]9;{safe}\x1b\\"]
    [written] = rung(monkeypatch, "osc777", ingested=3)
    assert written == (
        "\x1b]777;notify;deskterm;3 new mails on demo: Refund ]52 c aGFja2Vk now\\ ]777 notify x "
        "pwned ok done\x1b\\"
    )
    inner = written[len("\x1b]777;") : -2]
    assert not any(ch in inner for ch in "\x07\x1b\x9c")


def test_a_wrong_setting_is_said_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_NEW_MAIL", "loud")
    written: list[str] = []

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        app.new_mail_bell.write = written.append
        app._on_engine_event(RunFinished(CHANNEL, run=JobRun(ingested=1)))
        await settle(pilot)
        assert any("DESKTERM_NEW_MAIL is 'loud'" in n for n in notices(app))

    drive(scenario)
    assert written == []
