"""The demo desk: the bundled mail through the real inbound pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deskterm.channels import config as channel_config
from deskterm.channels import registry as channels
from deskterm.demo import desk as demo
from deskterm.desk import list_index, queries
from deskterm.errors import DeskError
from deskterm.store.models import Conversation, Message
from tests.conftest import Desk


def test_the_bundled_mail_is_package_data() -> None:
    mail = demo.demo_mail()
    assert len(mail) >= 25
    assert [name for name, _ in mail] == sorted(name for name, _ in mail)
    assert all(b"\nMessage-ID: <" in raw and len(raw) > 300 for _, raw in mail)


def test_the_demo_desk_is_built_through_the_inbound_pipeline() -> None:
    result = demo.build_demo(now=demo.ANCHOR)
    assert (result.created, result.ingested, result.skipped, result.failed) == (True, 25, 1, 0)
    channel = channels.get(demo.CHANNEL)
    assert channel.status == "draft"  # never polled
    assert channel.settings["inbound"]["host"].endswith(".invalid")
    assert list_index.status_counts() == {
        "open": 17,
        "pending": 2,
        "resolved": 2,
        "closed": 1,
        "all": 22,
    }
    [skipped] = queries.skipped_list()
    assert skipped["reason"] == "auto-submitted: auto-replied"


def test_the_demo_has_a_threaded_conversation() -> None:
    demo.build_demo(now=demo.ANCHOR)
    [thread] = queries.list_conversations(search="Dashboard export")
    detail = queries.conversation_detail(thread["id"])
    assert len(detail["messages"]) == 4
    assert detail["messages"][-1]["in_reply_to"] == "<export-3@kestrel-analytics.example>"


def test_encoded_headers_html_and_attachments_come_out_decoded() -> None:
    demo.build_demo(now=demo.ANCHOR)
    subjects = {c.subject for c in Conversation.select()}
    assert {
        "請求書の再発行について",
        "Commande n° 5531 : colis endommagé",
        "Не приходит письмо для подтверждения",
    } <= subjects
    html = Message.get(Message.subject == "Quote for 40 additional seats")
    assert "40 additional seats" in html.text and "<table" not in html.text
    [invoice] = queries.list_conversations("pending", search="INV-2024-0312")
    [attachment] = queries.conversation_detail(invoice["id"])["messages"][0]["attachments"]
    assert attachment["filename"] == "INV-2024-0312.pdf"
    assert attachment["size"] > 1024
    [parcel] = queries.list_conversations(search="5531")
    names = [
        a["filename"]
        for a in queries.conversation_detail(parcel["id"])["messages"][0]["attachments"]
    ]
    assert names == ["colis abîmé.jpg"]


def test_the_hostile_mail_is_stored_as_sent() -> None:
    """Raw in storage; only display sanitises (see tests/tui/test_app.py for the screen)."""
    demo.build_demo(now=demo.ANCHOR)
    hostile = Conversation.get(Conversation.subject.contains("[@click=app.quit]"))
    assert "\x1b[31m" in hostile.subject
    assert "[bold]NOW[/bold]" in hostile.subject


def test_dates_follow_now_so_the_demo_looks_current() -> None:
    now = datetime(2030, 6, 1, 9, 30, tzinfo=UTC)
    demo.build_demo(now=now)
    newest = Conversation.select().order_by(Conversation.updated_at.desc()).first()
    assert now.replace(tzinfo=None) - newest.updated_at == timedelta(minutes=35)


def test_building_twice_keeps_the_desk_and_a_real_desk_is_refused(desk: Desk) -> None:
    demo.build_demo(now=demo.ANCHOR)
    assert demo.build_demo(now=demo.ANCHOR).created is False
    assert Message.select().count() == 25
    channels.remove(demo.CHANNEL)
    real = {"name": "support", "inbound": {"host": "imap.example.com", "username": "s@x.example"}}
    channels.add(channel_config.validate(real))
    with pytest.raises(DeskError, match="already holds a real desk"):
        demo.build_demo()


def test_synthetic_conversations_for_scale() -> None:
    demo.build_demo(now=demo.ANCHOR)
    demo.add_synthetic(500, now=demo.ANCHOR)
    assert list_index.status_counts()["all"] == 522
    ids = list_index.conversation_ids("all")
    assert len(ids) == 522 and len(set(ids)) == 522
    synthetic = [i for i in ids if i > 22]
    assert len(synthetic) == 500
    [row] = list_index.conversation_rows([synthetic[0]])
    assert row["contact"].endswith("@synthetic.example")
    detail = queries.conversation_detail(row["id"])
    assert detail["messages"][0]["text"].startswith("Hello, this is about:")


def test_the_demo_command_builds_a_desk_without_the_ui(desk: Desk, tmp_path: Path) -> None:
    home = tmp_path / "kept"
    result = desk.run("demo", "--no-ui", "--home", str(home))
    assert "25 messages ingested, 1 skipped" in result.output
    assert (home / "desk.sqlite3").is_file()
    again = desk.run("demo", "--no-ui", "--home", str(home))
    assert "already there" in again.output
