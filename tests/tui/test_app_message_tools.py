"""The thread's message tools (issue 14): a message's links listed and opened, its stored
source shown, its HTML part opened in the browser, the message forwarded; the system opener
is a recording fake at the point where the desk starts it (`attachments.subprocess.Popen`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from deskterm.app import DeskApp
from deskterm.desk import attachments, message_tools
from deskterm.errors import ConfigError
from deskterm.screens.message_tools import LinksScreen, SourceScreen
from deskterm.screens.prompt import PromptScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store.models import Message, Outbox
from tests.tui.test_app import drive, notices, screen_text, settle
from tests.tui.test_app_more import INVOICE, answer, open_the_invoice
from tests.tui.test_reflow_view import ingest

OPENER = "/usr/bin/xdg-open"

MAIL = (
    b"From: Jane Doe <jane@customer.example>\r\n"
    b"To: support@acme.example\r\n"
    b"Subject: Links inside\r\n"
    b"Message-ID: <links-1@customer.example>\r\n"
    b"Date: Fri, 04 Dec 2026 09:00:00 +0000\r\n"
    b"X-Evil: \x1b]0;pwned\x07title\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"See https://example.com/a?b=1, the docs (https://example.org/x) or write to\r\n"
    b"mailto:help@example.com. Not these: javascript:alert(1) file:///etc/passwd\r\n"
    b"ftp://example.net/f and again https://example.com/a?b=1.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<p>See <a href=3D'https://example.com/a'>this</a><script>alert(1)</script></p>\r\n"
    b"<a href=3D'javascript:alert(1)'>x</a> <a href=3D'https://example.org/x'>y</a>\r\n"
    b"<a href=3D'https://shop.example/?a=3D1&amp;b=3D2'>shop</a>\r\n"
    b"--b1--\r\n"
)
LINKS = [
    "https://example.com/a?b=1",  # the text's, in order, each once
    "https://example.org/x",
    "mailto:help@example.com",
    "https://example.com/a",  # then the HTML part's hrefs the text did not show
    "https://shop.example/?a=1&b=2",
]


@pytest.fixture
def opener(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, Any]]]:
    """The system opener, recorded instead of started."""
    calls: list[tuple[list[str], dict[str, Any]]] = []
    monkeypatch.setattr(attachments.shutil, "which", lambda name: OPENER)
    monkeypatch.setattr(
        attachments.subprocess, "Popen", lambda args, **kw: calls.append((args, kw))
    )
    return calls


async def open_the_mail(pilot: Pilot[None]) -> None:
    await pilot.press("enter")  # the newest conversation: the one just delivered
    await settle(pilot)
    assert isinstance(pilot.app.screen, ThreadScreen)
    assert "Links inside" in screen_text(pilot.app)  # type: ignore[arg-type]


def test_l_lists_the_links_numbered_and_opens_one(demo_desk: None, opener) -> None:
    ingest("links-1", MAIL)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_mail(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LinksScreen)
        assert app.screen.urls == LINKS
        shown = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        assert shown == [f"{n} {url}" for n, url in enumerate(LINKS, start=1)]
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        [(args, kw)] = opener
        assert args == [OPENER, "https://example.org/x"]
        assert "shell" not in kw and "DESKTERM_PASSPHRASE" not in kw["env"]
        assert notices(app)[-1] == "Opened https://example.org/x with the system opener."
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert opener[-1][0] == [OPENER, "mailto:help@example.com"]

    drive(scenario, size=(80, 24))


def test_v_shows_the_stored_source_without_control_sequences(demo_desk: None) -> None:
    ingest("links-1", MAIL)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_mail(pilot)
        await pilot.press("V")
        await settle(pilot)
        assert isinstance(app.screen, SourceScreen)
        assert 'Content-Type: multipart/alternative; boundary="b1"' in app.screen.text
        assert "X-Evil: ]0;pwnedtitle" in app.screen.text  # ESC and BEL dropped
        assert "\x1b" not in app.screen.text and "\x07" not in app.screen.text
        assert "Message-ID: <links-1@customer.example>" in screen_text(app)
        await pilot.press("G")  # scrolls to the end of the source
        await settle(pilot)
        assert "--b1--" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario, size=(80, 24))


def test_v_says_when_the_source_was_not_kept(demo_desk: None) -> None:
    ingest("links-1", MAIL)
    Message.update(raw_path=None).where(
        Message.message_id == "<links-1@customer.example>"
    ).execute()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_mail(pilot)
        await pilot.press("V")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert notices(app)[-1] == "The desk did not keep this message's source."

    drive(scenario)


def test_h_opens_the_html_part_from_a_private_file(demo_desk: None, opener) -> None:
    ingest("links-1", MAIL)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_mail(pilot)
        await pilot.press("H")
        await settle(pilot)
        [(args, kw)] = opener
        assert args[0] == OPENER and "DESKTERM_PASSPHRASE" not in kw["env"]
        path = Path(args[1])
        assert path.name == "message.html"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        html = path.read_bytes()
        assert b"Content-Security-Policy" in html and b"default-src 'none'" in html
        assert b"<a href='https://example.com/a'>this</a>" in html
        assert notices(app)[-1] == "Opened the HTML part with the system opener."

    drive(scenario)


def test_h_on_a_plain_mail_or_without_an_opener_says_so(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest("links-1", MAIL)
    monkeypatch.setattr(attachments.shutil, "which", lambda name: None)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_mail(pilot)
        await pilot.press("H")
        await settle(pilot)
        assert "There is no system opener (xdg-open or open) on this computer." in notices(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("down", "enter")  # a demo conversation of plain text
        await settle(pilot)
        await pilot.press("G", "H")
        await settle(pilot)
        assert "This message has no HTML part." in notices(app)

    drive(scenario)


def test_f_forwards_the_message_with_its_attachment_to_the_address_typed(
    demo_desk: None,
) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_the_invoice(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await answer(pilot, "not an address")
        assert isinstance(app.screen, ThreadScreen)
        assert any("is not an email address" in n for n in notices(app))
        assert Outbox.select().count() == 0
        await pilot.press("f")
        await settle(pilot)
        await answer(pilot, "accounts@example.com")
        assert notices(app)[-1] == "Forward to accounts@example.com queued; the outbox sends it."
        [queued] = Outbox.select()
        assert queued.kind == "forward" and queued.recipient == "accounts@example.com"
        assert queued.message.conversation_id == INVOICE
        assert queued.message.subject.startswith("Fwd: ")
        assert [a.filename for a in queued.message.attachments] == ["INV-2024-0312.pdf"]

    drive(scenario)


def test_links_of_hostile_text_are_only_web_and_mail_links_and_open_without_a_shell(
    opener,
) -> None:
    text = (
        "wiki https://en.wikipedia.org/wiki/Foo_(bar). esc https://evil.example/\x1b[31mred "
        "(see https://a.example/x), bare https:// and http:///path, "
        "JAVASCRIPT:alert(1) data:text/html,<b> file:///etc/passwd mailto: "
        "http://b.example/$(rm -rf ~)"
    )
    assert message_tools.links(text) == [
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://evil.example/",
        "https://a.example/x",
        "http://b.example/$(rm",
    ]
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "https://a.example/ x", "-x"):
        with pytest.raises(ConfigError):
            message_tools.open_link(bad)
    message_tools.open_link("http://b.example/$(rm")
    [(args, kw)] = opener
    assert args == [OPENER, "http://b.example/$(rm"] and kw.get("shell") is not True


def test_a_link_ends_at_a_closing_bracket_that_opens_nothing_in_it() -> None:
    """`[link=https://evil.example]here[/link]` showed "no links": the whole run was taken for
    the link, and its `]` made it no URL at all."""
    text = (
        "or [link=https://evil.example]here[/link]. (https://a.example/w_(b)) {https://c.example}"
    )
    assert message_tools.links(text) == [
        "https://evil.example",
        "https://a.example/w_(b)",
        "https://c.example",
    ]


def test_links_trims_a_long_run_of_closing_brackets_in_one_pass() -> None:
    """A stranger's `https://a.example/` followed by 200,000 `)` took ~25 s trimmed a
    character at a time (each step counting the whole link again); one pass takes its length
    (bench/hostile_text measures how the time grows)."""
    assert message_tools.links("https://a.example/" + ")" * 200_000 + ".") == ["https://a.example/"]


def test_a_long_source_is_cut_before_it_is_cleaned_and_says_its_size(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest("links-1", MAIL)
    monkeypatch.setattr(message_tools, "SOURCE_CHARS", 200)
    stored = Message.get(Message.message_id == "<links-1@customer.example>")
    text = message_tools.source(stored.id)
    assert text is not None
    shown, _, said = text.partition("\n[… cut: ")
    assert len(shown) <= 200 and "\x1b" not in shown
    assert said == f"the source is {stored.size:,} bytes]\n"
