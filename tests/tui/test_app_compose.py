"""Replying from the terminal desk: keys in, the outbox, the draft file and the screen checked.

The demo desk's channel is a draft with a made-up SMTP host, so queued replies stay queued
(the outbox sends only for active channels) and no test needs a mail server; the one test of
a reply failing live points the channel at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea

from deskterm.app import DeskApp
from deskterm.app_session import REFRESH_DELAY
from deskterm.demo import desk as demo
from deskterm.desk import templates
from deskterm.engine.events import DeliveryResult
from deskterm.outbound import delivery, drafts, outbox, replies
from deskterm.screens.compose import ComposeScreen
from deskterm.screens.conversations import ConversationsScreen
from deskterm.screens.help import HelpScreen
from deskterm.screens.outbox import OutboxScreen
from deskterm.screens.reply_dialogs import CloseDraftScreen, InsertScreen
from deskterm.screens.thread import ThreadScreen
from deskterm.store import blobs
from deskterm.store.models import Channel, Conversation, Message, Outbox
from deskterm.widgets.message_view import MessageView
from deskterm.widgets.status_choice import StatusChoice
from tests.engine.test_drafts import outbound_setting
from tests.tui.test_app import (
    HOSTILE,
    drive,
    make_app,
    notices,
    screen_text,
    segments,
    settle,
    until,
)

EXPORT = 4  # the conversation at the top of the list: Lukas Schmidt, four messages
WAITS = (
    "Reply to #4 queued, but channel demo has no server connected (it is a draft), so it "
    "stays queued until the channel is made active."
)


pytestmark = pytest.mark.usefixtures("demo_desk")  # every test on the demo desk


def composer(app: DeskApp) -> ComposeScreen:
    assert isinstance(app.screen, ComposeScreen), type(app.screen).__name__
    return app.screen


def body(app: DeskApp) -> TextArea:
    return app.screen.query_one("#body", TextArea)


def the_reply(conversation_id: int = EXPORT) -> Message:
    return (
        Message.select()
        .where(Message.conversation == conversation_id, Message.direction == "out")
        .get()
    )


def assert_inert(app: DeskApp) -> None:
    """Like tests.tui.test_app's check, but a table's scrollbar may carry its own drag action."""
    for segment in segments(app):
        assert "\x1b" not in segment.text and "\x07" not in segment.text
        meta = segment.style.meta if segment.style else {}
        assert not any(str(key).startswith("@click") for key in meta), segment


def reply_view(app: DeskApp) -> str:
    """The newest message of the open thread as drawn (our reply, once it is queued); empty
    while a reload has removed the old messages and not yet mounted the new ones."""
    views = list(app.screen.query(MessageView))
    return str(views[-1].content) if views else ""


def cells(app: DeskApp, row: int = 0) -> list[str]:
    """One row of the outbox table, as the plain text of its cells."""
    return [str(cell) for cell in app.screen.query_one(DataTable).get_row_at(row)]


async def open_composer(pilot: Pilot[None], from_thread: bool = False) -> None:
    if from_thread:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ThreadScreen)
    await pilot.press("r")
    await settle(pilot)
    composer(pilot.app)  # type: ignore[arg-type]


# --- replying -----------------------------------------------------------------------------


def test_r_in_the_thread_queues_a_reply_with_the_right_headers() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        text = screen_text(app)
        assert "Reply to #4  Re: Dashboard export times out [#4]" in text
        assert "To lukas.schmidt@kestrel-analytics.example" in text
        assert "Lukas Schmidt's mail is quoted below it" in text  # the placeholder
        assert "Channel demo is a draft with no server connected" in text
        assert body(app).has_focus
        await pilot.press(*"Hello Lukas,", "enter", "enter", *"the export is fixed.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert notices(app)[-1] == WAITS
        await pilot.pause(REFRESH_DELAY)  # the thread reloads with the queued reply
        await settle(pilot)
        view = reply_view(app)
        assert view.startswith("◀ Acme Support <support@acme.example>") and "(queued)" in view
        assert "\nSam Carter replied\n" in view  # who wrote it: the agent at this keyboard
        assert "the export is fixed." in view

    drive(scenario)
    reply = the_reply()
    assert reply.agent == "sam"
    assert reply.text == "Hello Lukas,\n\nthe export is fixed."
    assert reply.state == "queued" and reply.to == ["lukas.schmidt@kestrel-analytics.example"]
    raw = message_from_bytes(blobs.read_raw(reply.raw_path), policy=policy.default)
    assert raw["To"] == "lukas.schmidt@kestrel-analytics.example"
    assert raw["From"] == "Acme Support <support@acme.example>"
    assert raw["Subject"] == "Re: Dashboard export times out [#4]"
    assert raw["In-Reply-To"] == "<export-4@kestrel-analytics.example>"
    assert "<export-4@kestrel-analytics.example>" in raw["References"]
    assert Outbox.get(Outbox.message == reply).state == "queued"
    assert Conversation.get_by_id(EXPORT).status == "pending"  # the default choice
    assert not drafts.exists(EXPORT)  # sent: the draft is gone


def test_r_on_the_list_replies_with_cc_and_resolves() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)  # the list's selected conversation: #4
        await pilot.press(*"Done, closing this.")
        await pilot.press("ctrl+r")  # after sending: resolved
        assert app.screen.query_one(StatusChoice).value == "resolved"
        assert "(•) resolved" in screen_text(app)
        app.screen.query_one("#cc", Input).focus()
        await pilot.press(*"Mei Chen <mei.chen@kestrel-analytics.example>, ops@x.example")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert notices(app)[-1] == WAITS

    drive(scenario)
    reply = the_reply()
    assert reply.cc == ["mei.chen@kestrel-analytics.example", "ops@x.example"]
    raw = message_from_bytes(blobs.read_raw(reply.raw_path), policy=policy.default)
    assert raw["Cc"] == "Mei Chen <mei.chen@kestrel-analytics.example>, ops@x.example"
    assert Conversation.get_by_id(EXPORT).status == "resolved"


def test_a_reply_that_cannot_be_queued_says_why_and_stays() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+s")  # nothing written
        await settle(pilot)
        assert notices(app)[-1] == "The reply is empty; write something before sending."
        await pilot.press(*"Hi")
        app.screen.query_one("#cc", Input).value = "bob"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert notices(app)[-1] == "'bob' in Cc is not an email address; fix the Cc line."
        assert composer(app).sending is False and not body(app).read_only
        assert body(app).text == "Hi"

    drive(scenario)
    assert Outbox.select().count() == 0
    assert drafts.load(EXPORT).body == "Hi"


def test_a_hostile_conversation_stays_inert_in_the_composer() -> None:
    templates.save("hello", "Hello $contact_name, about $subject.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("j", "j", "j")  # the hostile mail's conversation
        await open_composer(pilot)
        assert composer(app).conversation_id == HOSTILE
        await pilot.press("ctrl+t", "enter")
        await settle(pilot)
        assert body(app).text == (
            "Hello [@click=app.quit]Mallory [2J[b], about [@click=app.quit] Refund [bold]NOW"
            "[/bold] [31mURGENT[0m ]52;c;aGFja2Vk.\n"
        )
        text = screen_text(app)
        assert "Reply to #10  Re: [@click=app.quit] Refund [bold]NOW[/bold]" in text
        assert_inert(app)
        for y in range(0, 8):  # click over the title, the headers and the text
            await pilot.click(offset=(20, y))
        assert app.is_running

    app = drive(scenario)
    assert app.return_code is None


# --- templates and the quote -------------------------------------------------------------


def test_a_template_is_inserted_with_its_variables_filled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")  # $agent_name: the demo's Kim Lee
    templates.save("apology", "Sorry for the wait, $contact_name!\n")
    templates.save(
        "thanks", 'Hi $contact_name, about "$subject" (#$conversation_id).\n-- $agent_name'
    )

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, InsertScreen)
        text = screen_text(app)
        assert "apology" in text and "thanks" in text
        assert "Quote: the channel adds it below every reply" in text  # quote_previous
        await pilot.press("down", "enter")
        await settle(pilot)
        assert body(app).text == (
            'Hi Lukas Schmidt, about "Dashboard export times out" (#4).\n-- Kim Lee\n'
        )
        assert body(app).has_focus
        await pilot.press("ctrl+t", "escape")  # cancelled: nothing inserted
        await settle(pilot)
        assert body(app).text.endswith("-- Kim Lee\n")

    drive(scenario)


def test_the_quote_can_be_inserted_where_the_channel_does_not_add_it() -> None:
    outbound_setting(quote_previous=False)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "No templates yet: M in the list adds them." in screen_text(app)
        await pilot.press("enter")  # the only enabled option: the quote
        await settle(pilot)
        assert "Lukas Schmidt wrote:\n> " in body(app).text

    drive(scenario)


# --- attachments ---------------------------------------------------------------------------


def test_attachments_are_added_completed_refused_and_sent(tmp_path: Path) -> None:
    (tmp_path / "export-log.txt").write_text("timeout after 30 s\n")
    missing = tmp_path / "nope.pdf"
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 3000)
    outbound_setting(max_attachment_bytes=2000)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press(*"Log attached.")
        await pilot.press("ctrl+f")
        field = app.screen.query_one("#attach", Input)
        assert field.has_focus
        await pilot.press(*f"{tmp_path}/exp")
        await until(pilot, lambda: field._suggestion.endswith("export-log.txt"))
        await pilot.press("tab")  # takes the completion
        assert field.value == f"{tmp_path}/export-log.txt"
        await pilot.press("enter")
        await settle(pilot)
        assert field.value == ""
        assert composer(app).draft.attachments == [str(tmp_path / "export-log.txt")]
        assert "export-log.txt (19 B)" in screen_text(app)
        await pilot.press(*str(missing), "enter")
        await settle(pilot)
        assert notices(app)[-1] == f"Cannot read the attachment {missing}; check the path."
        field.value = ""
        await pilot.press(*str(big), "enter")
        await settle(pilot)
        assert notices(app)[-1] == (
            "The attachments add up to 3,019 bytes, over this channel's limit of 2,000; send "
            "fewer or smaller files."
        )
        assert len(composer(app).draft.attachments) == 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert notices(app)[-1] == WAITS

    drive(scenario)
    [attachment] = the_reply().attachments
    assert (attachment.filename, attachment.size) == ("export-log.txt", 19)


def test_an_attachment_is_removed_with_delete(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+f", *str(tmp_path / "a.txt"), "enter")
        await pilot.press(*str(tmp_path / "b.txt"), "enter")
        await settle(pilot)
        await pilot.press("tab")  # from the path field to the list of attachments
        await pilot.press("delete")
        await settle(pilot)
        assert composer(app).draft.attachments == [str(tmp_path / "b.txt")]
        assert notices(app)[-1] == "Removed a.txt."

    drive(scenario)
    assert drafts.load(EXPORT).attachments == [str(tmp_path / "b.txt")]


# --- drafts --------------------------------------------------------------------------------


def test_a_draft_survives_the_app_going_away_and_comes_back() -> None:
    async def first_run(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press(*"Half-written answer")
        await pilot.press("ctrl+r")
        app.screen.query_one("#cc", Input).value = "ops@x.example"
        await pilot.pause(drafts.SAVE_EVERY + 0.3)
        # Written while the app still runs: a crash (kill -9, a dropped SSH) loses nothing.
        saved = drafts.load(EXPORT)
        assert (saved.body, saved.cc, saved.status) == (
            "Half-written answer",
            "ops@x.example",
            "resolved",
        )
        assert "Draft saved." in screen_text(app)
        body(app).focus()
        await pilot.press(*", and more")  # then the app quits at once, without sending

    drive(first_run)
    assert drafts.load(EXPORT).body == "Half-written answer, and more"

    async def second_run(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        assert body(app).text == "Half-written answer, and more"
        assert app.screen.query_one("#cc", Input).value == "ops@x.example"
        assert app.screen.query_one(StatusChoice).value == "resolved"
        assert "Draft restored." in screen_text(app)

    drive(second_run)


def test_escape_asks_before_leaving_a_draft_and_keeps_it_unless_told() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("escape")  # nothing written: closes at once, leaves no file
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen) and not drafts.exists(EXPORT)
        await open_composer(pilot)
        await pilot.press(*"Keep me")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CloseDraftScreen)
        assert "The draft is saved; r opens it again." in screen_text(app)
        await pilot.press("escape")  # back to the reply
        await settle(pilot)
        assert body(app).text == "Keep me"
        await pilot.press("escape", "k")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert notices(app)[-1] == "Draft kept: r on #4 opens it again."
        assert drafts.load(EXPORT).body == "Keep me"
        await open_composer(pilot)
        assert body(app).text == "Keep me"
        await pilot.press("escape", "d")
        await settle(pilot)
        assert isinstance(app.screen, ConversationsScreen)
        assert notices(app)[-1] == "Draft for #4 discarded."

    drive(scenario)
    assert not drafts.exists(EXPORT)


# --- $EDITOR --------------------------------------------------------------------------------


def fake_editor(tmp_path: Path, line: str) -> Path:
    script = tmp_path / "fake-editor"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[1], 'a').write({line!r})\n")
    script.chmod(0o755)
    return script


def test_ctrl_g_hands_the_text_to_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headless Textual cannot suspend (its driver says so), so `suspend` is made a no-op
    here; everything else, the editor process included, is real."""
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(fake_editor(tmp_path, "Added in the editor.\n")))
    app = make_app()
    suspended = []

    @contextlib.contextmanager
    def suspend() -> object:
        suspended.append(True)
        yield

    monkeypatch.setattr(app, "suspend", suspend)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press(*"Hello Lukas,")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert suspended == [True]
        assert body(app).text == "Hello Lukas,\nAdded in the editor."
        assert drafts.load(EXPORT).body == "Hello Lukas,\nAdded in the editor."
        await pilot.press("ctrl+z")  # the editor's change is one undo step
        assert body(app).text == "Hello Lukas,"

    drive(scenario, app=app)


def test_an_editor_that_cannot_run_is_one_notification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-editor"
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(missing))
    app = make_app()
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press(*"Keep this", "ctrl+g")
        await settle(pilot)
        assert notices(app)[-1] == (
            f"Cannot run the editor '{missing}' (No such file or directory); set $EDITOR to "
            "an editor that is installed."
        )
        assert body(app).text == "Keep this" and app.is_running

    drive(scenario, app=app)


def test_where_the_terminal_cannot_be_handed_over_it_says_so(tmp_path: Path) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press("ctrl+g")  # the headless driver cannot suspend
        await settle(pilot)
        assert notices(app)[-1] == (
            "This terminal cannot be handed to an editor; write the reply here instead."
        )
        assert isinstance(app.screen, ComposeScreen)

    drive(scenario)


# --- keys and help --------------------------------------------------------------------------


def test_f1_lists_the_composers_keys_and_the_footer_shows_the_main_ones() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        assert "^s send  ^t template  ^g editor  esc close  f1 keys" in screen_text(app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = dict((what, keys) for keys, what in app.screen.rows)
        assert rows["Send: queue the reply in the outbox"] == "^s"
        assert rows["Insert a template (or the quote)"] == "^t"
        assert rows["Write the reply in $EDITOR"] == "^g"
        assert rows["Attach a file (type its path)"] == "^f"
        assert rows["After sending: pending or resolved"] == "^r"
        assert rows["Close (the draft is kept)"] == "esc"
        await pilot.press("escape")
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("question_mark")  # in the text, ? is just a question mark
        assert body(app).text == "?"

    drive(scenario)


def test_r_is_in_the_help_and_the_palette_of_the_list_and_the_thread() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Reply", "Outbox"} <= titles  # the command palette offers them too
        await pilot.press("question_mark")
        assert ("r", "Reply") in app.screen.rows and ("O", "Outbox") in app.screen.rows
        await pilot.press("escape", "enter")
        await settle(pilot)
        assert "Reply" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("question_mark")
        assert ("r", "Reply") in app.screen.rows

    drive(scenario)


# --- the outbox and live delivery -------------------------------------------------------------


def test_the_outbox_lists_replies_and_retries_and_cancels_them() -> None:
    queued = drafts.send(drafts.Draft(HOSTILE, body="We do not click links."))
    item = Outbox.get(Outbox.message == queued.message_id)
    outbox.set_state(item, "failed", last_error="The SMTP server answered 550 \x1b[31mno\x1b[0m.")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("O")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        assert cells(app) == [
            str(item.id),
            f"#{HOSTILE}",
            "failed",
            "0",
            "Re: [@click=app.quit] Refund [bold]NOW[/bold] [31mURGENT[0m ]52;c;aGFja2Vk [#10]",
            "The SMTP server answered 550 [31mno[0m.",
        ]
        assert "Re: [@click=app.quit] Refund" in screen_text(app)
        assert_inert(app)
        await pilot.press("c")
        await settle(pilot)
        assert Outbox.get_by_id(item.id).state == "cancelled"
        assert notices(app)[-1] == f"Outbox item {item.id} is cancelled."
        assert cells(app)[2] == "cancelled"
        await pilot.press("c")  # twice: the outbox's own sentence
        await settle(pilot)
        assert notices(app)[-1] == (
            f"Outbox item {item.id} is cancelled; only queued or failed items can be cancelled."
        )
        await pilot.press("r")
        await settle(pilot)
        assert Outbox.get_by_id(item.id).state == "queued"
        assert cells(app)[2:] == [
            "queued",
            "0",
            cells(app)[4],
            "Channel demo is a draft with no server connected, so replies stay queued until it "
            "is made active.",
        ]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen) and app.screen.conversation_id == HOSTILE
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)

    drive(scenario, size=(100, 30))


def test_an_empty_outbox_says_so() -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("O")
        await settle(pilot)
        assert "The outbox is empty: no reply was queued yet." in screen_text(app)
        await pilot.press("r")
        assert notices(app)[-1] == "The outbox is empty."

    drive(scenario)


def test_in_the_demo_the_running_worker_leaves_the_reply_queued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's worker runs (as `deskterm demo` starts it) and finds nothing to send."""
    flushed = []
    real_flush = delivery.flush

    def counting_flush(*args: object, **kwargs: object) -> object:
        flushed.append(real_flush(*args, **kwargs))  # type: ignore[arg-type]
        return flushed[-1]

    monkeypatch.setattr(delivery, "flush", counting_flush)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.worker_state == "on")
        await open_composer(pilot)
        await pilot.press(*"Hello", "ctrl+s")
        await settle(pilot)
        assert notices(app)[-1] == WAITS
        assert app.engine is not None
        before = len(flushed)
        app.engine.wake.set()  # one more pass of the loop, which sends what is due
        await until(pilot, lambda: len(flushed) > before)
        assert flushed[-1] == []
        assert not any(n.startswith("Reply to #4:") for n in notices(app))

    drive(scenario, app=make_app(run_worker=True))
    assert Outbox.get().state == "queued" and Outbox.get().attempts == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OneSecret:
    def get(self, key: str) -> str:
        return "secret"


def test_the_thread_and_the_outbox_follow_a_reply_from_queued_to_failed_live() -> None:
    """A real delivery attempt, as the worker makes it, against a port nobody listens on."""
    outbound_setting(
        host="127.0.0.1", port=closed_port(), security="none", max_attempts=1, timeout=5
    )

    def flush_in_the_engine(app: DeskApp) -> threading.Thread:
        def run() -> None:
            delivery.flush(
                OneSecret(),
                force=True,
                on_delivery=lambda d: app._heard(
                    DeliveryResult(d.conversation_id, d.state, d.detail)
                ),
            )

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot, from_thread=True)
        await pilot.press(*"Trying again.", "ctrl+s")
        await settle(pilot)
        await pilot.pause(REFRESH_DELAY)
        await settle(pilot)
        assert "(queued)" in reply_view(app)
        Channel.update(status="active").where(Channel.name == demo.CHANNEL).execute()
        thread = flush_in_the_engine(app)
        await until(pilot, lambda: not thread.is_alive())
        await until(pilot, lambda: "(failed)" in reply_view(app))
        assert any(n.startswith("Reply to #4: failed: ") for n in notices(app))
        await pilot.press("escape", "O")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        assert cells(app)[2:4] == ["failed", "1"]
        assert "refused" in cells(app)[5]
        await pilot.press("r")  # queued again, and the open outbox follows the next attempt
        await settle(pilot)
        assert cells(app)[2:4] == ["queued", "0"]
        thread = flush_in_the_engine(app)
        await until(pilot, lambda: not thread.is_alive())
        await until(pilot, lambda: cells(app)[2:4] == ["failed", "1"])

    drive(scenario, size=(120, 30))
    assert Outbox.get().state == "failed" and the_reply().state == "failed"


# --- snapshots ------------------------------------------------------------------------------
# After a deliberate change, look at the new pictures and accept them with
# `uv run pytest tests/tui/test_app_compose.py --snapshot-update` (tests/tui/__snapshots__/).


def no_blinking(app: DeskApp) -> None:
    for widget in app.screen.query("TextArea, Input"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


async def composer_open(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    no_blinking(pilot.app)  # type: ignore[arg-type]


async def composer_filled(pilot: Pilot[None]) -> None:
    await composer_open(pilot)
    await pilot.press(*"Hello Lukas,", "enter", "enter", *"the export is fixed; try it again.")
    await pilot.press("ctrl+r")
    pilot.app.screen.query_one("#cc", Input).value = "mei.chen@kestrel-analytics.example"
    await settle(pilot)


async def close_asked(pilot: Pilot[None]) -> None:
    await composer_open(pilot)
    await pilot.press(*"Half an answer", "escape")
    await settle(pilot)


async def outbox_open(pilot: Pilot[None]) -> None:
    drafts.send(drafts.Draft(EXPORT, body="Hello Lukas, fixed."))
    await settle(pilot)
    await pilot.press("O")
    await settle(pilot)


def test_composer(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=composer_open)


def test_composer_with_a_reply(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=composer_filled)


def test_closing_a_reply_asks(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=close_asked)


def test_outbox(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=outbox_open)


# --- whom the reply goes to (issue 10, 5) --------------------------------------------------


def _asks_for_reply_to(address: str) -> None:
    """The customer's last mail in #4 names another address in its Reply-To."""
    last = replies.last_inbound(Conversation.get_by_id(EXPORT))
    assert last is not None
    last.reply_to = address
    last.save()


@pytest.mark.parametrize("pick", [False, True])
def test_a_reply_to_is_shown_and_used_only_when_the_agent_picks_it(pick: bool) -> None:
    _asks_for_reply_to("billing@elsewhere.example")

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        drawn = " ".join(str(view.content) for view in app.screen.query(MessageView))
        assert "Reply-To: billing@elsewhere.example (not used unless you pick it)" in drawn
        await open_composer(pilot)
        text = screen_text(app)
        assert "To lukas.schmidt@kestrel-analytics.example" in text
        assert "The mail asks for replies to billing@elsewhere.example; ^o sends there" in text
        if pick:
            await pilot.press("ctrl+o")
            await pilot.pause()
            text = screen_text(app)
            assert "To billing@elsewhere.example" in text
            assert "the mail's Reply-To, not the contact; ^o goes back" in text
        await pilot.press(*"Hello", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)

    drive(scenario, size=(120, 40))
    expected = "billing@elsewhere.example" if pick else "lukas.schmidt@kestrel-analytics.example"
    assert the_reply().to == [expected]


def test_an_unexpected_failure_while_queueing_is_reported_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual calls the worker-state handler of every screen class in the MRO itself; a
    handler that also calls super() reported each failure twice."""

    def broken(draft: drafts.Draft, seen_upto: int | None = None) -> drafts.Queued:
        raise RuntimeError("the queue broke")

    monkeypatch.setattr(drafts, "send", broken)

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_composer(pilot)
        await pilot.press(*"Hi", "ctrl+s")
        await settle(pilot)
        failures = [n for n in notices(app) if "failed unexpectedly (RuntimeError)" in n]
        assert len(failures) == 1, failures
        assert composer(app).sending is False and not body(app).read_only

    drive(scenario)
