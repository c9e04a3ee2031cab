"""Tags, the channel/assignee/tag filters and attachments, driven by keys on the demo desk."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from deskterm.app import DeskApp
from deskterm.demo import desk as demo
from deskterm.desk import attachments, contacts, triage
from deskterm.screens.contact import ContactScreen
from deskterm.screens.conversations import SEARCH_DELAY, ConversationsScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store import blobs
from deskterm.store.models import Channel, Conversation
from tests.tui.test_app import drive, notices, screen_text, settle, the_list

INVOICE = 3  # the pending conversation with INV-2024-0312.pdf


async def answer(pilot: Pilot[None], text: str) -> None:
    """Type into the open prompt (replacing what it holds) and press Enter."""
    app = pilot.app
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one("#answer").value = ""  # type: ignore[attr-defined]
    if text:
        await pilot.press(*text)
    await pilot.press("enter")
    await settle(pilot)


async def set_filter(pilot: Pilot[None], text: str) -> None:
    await pilot.press("F")
    await settle(pilot)
    await answer(pilot, text)


# --- tags ----------------------------------------------------------------------------------


def test_tags_are_added_and_removed_from_the_list_and_the_thread(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        first = the_list(app).current_id
        assert first is not None
        await pilot.press("T")
        await settle(pilot)
        await answer(pilot, "+Urgent vip billing")
        assert triage.tags(first) == ["billing", "urgent", "vip"]
        assert any("is now tagged billing, urgent, vip" in n for n in notices(app))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert "tags: billing, urgent, vip" in screen_text(app)
        await pilot.press("T")
        await settle(pilot)
        await answer(pilot, "-billing -vip")
        assert isinstance(app.screen, ThreadScreen)
        assert triage.tags(first) == ["urgent"]
        meta = str(app.screen.query_one("#meta", Static).content)
        assert "tags: urgent ·" in meta and "vip" not in meta

    drive(scenario, size=(120, 40))


def test_escape_leaves_the_tags_alone(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("T")
        await settle(pilot)
        await pilot.press(*"vip", "escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert triage.tags(the_list(app).current_id or 0) == []

    drive(scenario)


# --- contact aliases -----------------------------------------------------------------------


def test_a_on_the_contacts_page_adds_and_removes_their_other_addresses(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        contact = app.screen.detail["contact"]
        await pilot.press("c")  # the contact's page
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.question == f"Other addresses of {contact}: none"
        await answer(pilot, "+Her.Home@Example.org")
        assert isinstance(app.screen, ContactScreen)
        assert contacts.describe(contact)["aliases"] == ["her.home@example.org"]
        assert any(f"{contact}: her.home@example.org." in n for n in notices(app))
        assert "other addresses: her.home@example.org" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        await answer(pilot, "-her.home@example.org not-an-address")  # checked before any change
        assert contacts.describe(contact)["aliases"] == ["her.home@example.org"]
        assert any("'not-an-address' is not an email address" in n for n in notices(app))
        await pilot.press("a")
        await settle(pilot)
        await answer(pilot, "-her.home@example.org")
        assert contacts.describe(contact)["aliases"] == []

    drive(scenario, size=(120, 40))


# --- filters -------------------------------------------------------------------------------


def test_the_assignee_filter_narrows_the_list(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("5")
        await settle(pilot)
        await set_filter(pilot, "assignee:SAM")
        sams = {c.id for c in Conversation.select().where(Conversation.assignee == "sam")}
        assert sams and set(the_list(app).ids) == sams
        assert f"assignee:sam: {len(sams)}" in screen_text(app)  # as the handle is
        await set_filter(pilot, "")  # empty clears
        assert len(the_list(app).ids) == 22
        assert "assignee:" not in screen_text(app)

    drive(scenario)


def test_the_tag_filter_narrows_the_list(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        triage.add_tag(12, "vip")
        triage.add_tag(2, "vip")
        triage.add_tag(2, "billing")
        await set_filter(pilot, "tag:vip")
        assert the_list(app).ids == [12, 2]
        await set_filter(pilot, "tag:billing")
        assert the_list(app).ids == [2]
        await set_filter(pilot, "tag:billing assignee:alex")
        assert the_list(app).ids == []
        await set_filter(pilot, "tag:billing assignee:nobody")  # unassigned
        assert the_list(app).ids == [2]

    drive(scenario)


def test_the_channel_filter_narrows_the_list(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        other = Channel.create(name="other", settings={})
        Conversation.update(channel=other).where(Conversation.id == 7).execute()
        await pilot.press("5")
        await settle(pilot)
        await set_filter(pilot, "channel:other")
        assert the_list(app).ids == [7]
        await set_filter(pilot, f"channel:{demo.CHANNEL}")
        assert len(the_list(app).ids) == 21 and 7 not in the_list(app).ids
        await set_filter(pilot, "channel:nowhere")  # refused in one sentence, filter kept
        assert any("There is no channel named 'nowhere'" in n for n in notices(app))
        assert len(the_list(app).ids) == 21
        await set_filter(pilot, "colour:red")
        assert any("'colour:red' is not a filter" in n for n in notices(app))
        assert isinstance(app.screen, ConversationsScreen)

    drive(scenario)


# --- attachments ---------------------------------------------------------------------------


async def open_the_invoice(pilot: Pilot[None]) -> None:
    await pilot.press("5", "slash", *"INV-2024", "enter")
    await pilot.pause(SEARCH_DELAY)
    await settle(pilot)
    assert the_list(pilot.app).ids == [INVOICE]  # type: ignore[arg-type]
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ThreadScreen)


def test_w_saves_the_pdf_to_downloads_and_asks_before_replacing(
    demo_desk: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    target = downloads / "INV-2024-0312.pdf"

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_invoice(pilot)
        await pilot.press("w")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        assert prompt.value == str(target)  # prefilled
        await pilot.press("enter")
        await settle(pilot)
        assert notices(app)[-1] == f"Saved INV-2024-0312.pdf to {target}."
        (stored,) = attachments.of_conversation(INVOICE)
        assert target.read_bytes() == blobs.attachment_path(stored.sha256).read_bytes()

        target.write_bytes(b"mine")
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)  # exists: replace it?
        await answer(pilot, "n")
        assert target.read_bytes() == b"mine"
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await answer(pilot, "y")
        assert target.read_bytes() == blobs.attachment_path(stored.sha256).read_bytes()
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario)


def test_o_without_a_system_opener_says_so(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachments.shutil, "which", lambda name: None)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_invoice(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert notices(app)[-1] == (
            "There is no system opener (xdg-open or open) on this computer."
        )

    drive(scenario)


def test_a_thread_without_attachments_says_so(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert notices(app)[-1] == "This conversation has no attachments."

    drive(scenario)
