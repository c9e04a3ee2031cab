"""The composer's engine without a terminal: draft files, autosave, headers, editor, completion.

Runs on the demo desk (a draft channel with a made-up SMTP host), so nothing here needs a
mail server; the reply's headers are read back from the raw message the outbox stored.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import templates
from deskterm.errors import DeskError
from deskterm.outbound import composer, delivery, drafts, editor
from deskterm.outbound.outbox import OutboxError
from deskterm.store import blobs
from deskterm.store.models import Channel, Conversation, Message, Outbox

EXPORT = 4  # "Dashboard export times out", Lukas Schmidt, four messages
HOSTILE = 10  # subject and sender full of markup and escape sequences


def outbound_setting(**changes: object) -> None:
    channel = Channel.get(Channel.name == demo.CHANNEL)
    settings = channel.settings
    settings["outbound"].update(changes)
    channel.settings = settings
    channel.save()


def editor_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-editor"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(0o755)
    return script


# --- the draft file ------------------------------------------------------------------------


def test_a_draft_round_trips_through_an_owner_only_file(desk_home: Path) -> None:
    draft = drafts.Draft(7, body="Hello\nwörld", cc="a@x.example", attachments=["/f"])
    draft.status = "resolved"
    drafts.save(draft)
    path = drafts.draft_file(7)
    assert path == desk_home / "drafts" / "7.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert drafts.load(7) == draft
    assert [p.name for p in path.parent.iterdir()] == ["7.json"]  # no temporary file left
    assert drafts.load(8) == drafts.Draft(8)


def test_an_empty_draft_is_no_draft(desk_home: Path) -> None:
    drafts.save(drafts.Draft(3, body="text"))
    assert drafts.exists(3)
    drafts.save(drafts.Draft(3, body="  \n"))
    assert not drafts.exists(3)
    drafts.discard(3)  # nothing there: no error


def test_a_draft_is_replaced_atomically(desk_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drafts.save(drafts.Draft(5, body="first"))

    def dies(*args: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched, pytest.raises(drafts.DraftError) as caught:
        patched.setattr(os, "replace", dies)
        drafts.save(drafts.Draft(5, body="second"))
    assert "could not be saved" in str(caught.value)
    assert "No space left on device" in str(caught.value)
    assert drafts.load(5).body == "first"  # the old draft is whole
    assert [p.name for p in drafts.drafts_dir().iterdir()] == ["5.json"]


def test_an_unreadable_draft_is_kept_aside_not_lost(desk_home: Path) -> None:
    path = drafts.draft_file(9)
    path.write_text('{"body": "half a JSO')
    with pytest.raises(drafts.DraftError) as caught:
        drafts.load(9)
    kept = path.with_name("9.json.unreadable")
    assert str(kept) in str(caught.value) and "starts empty" in str(caught.value)
    assert kept.read_text() == '{"body": "half a JSO'
    assert drafts.load(9) == drafts.Draft(9)
    path.write_text(json.dumps({"body": "x", "status": "closed", "attachments": []}))
    assert drafts.load(9).status == "pending"  # only what a reply can leave


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_autosave_writes_at_most_once_a_second_and_never_loses_the_last_change() -> None:
    clock, written = Clock(), []
    keeper = drafts.Autosaver(drafts.Draft(1), clock=clock, write=lambda d: written.append(d))
    assert keeper.changed(drafts.Draft(1, body="H")) is True  # the first change at once
    for text in ("He", "Hel", "Hell"):
        clock.now += 0.2
        assert keeper.changed(drafts.Draft(1, body=text)) is False
    assert keeper.flush() is False  # 0.6 s since the last write
    clock.now += 0.5
    assert keeper.flush() is True
    assert [d.body for d in written] == ["H", "Hell"]
    assert keeper.flush(force=True) is False  # nothing pending
    assert keeper.changed(drafts.Draft(1, body="Hell")) is False  # as saved: nothing to do
    keeper.changed(drafts.Draft(1, body="Hello"))
    assert keeper.flush(force=True) is True and written[-1].body == "Hello"
    keeper.stop()
    assert keeper.changed(drafts.Draft(1, body="after sending")) is False
    assert keeper.flush(force=True) is False


def test_a_failed_autosave_stays_pending_and_is_tried_again() -> None:
    clock, attempts = Clock(), []

    def write(draft: drafts.Draft) -> None:
        attempts.append(draft.body)
        if len(attempts) == 1:
            raise drafts.DraftError("disk full")

    keeper = drafts.Autosaver(drafts.Draft(1), clock=clock, write=write)
    with pytest.raises(drafts.DraftError):
        keeper.changed(drafts.Draft(1, body="text"))
    clock.now += 1
    assert keeper.flush() is True
    assert attempts == ["text", "text"] and keeper.saved.body == "text"


# --- the reply as it will go out -------------------------------------------------------------


def test_the_reply_context_names_subject_recipient_and_why_it_waits(demo_desk: None) -> None:
    context = composer.reply_context(EXPORT)
    assert context.subject == "Re: Dashboard export times out [#4]"
    assert context.to == "lukas.schmidt@kestrel-analytics.example"
    assert context.sender == "Acme Support <support@acme.example>"
    assert context.quote_previous and context.answered_from == "Lukas Schmidt"
    assert context.problem is None
    assert context.waiting == (
        "Channel demo is a draft with no server connected, so replies stay queued until it is "
        "made active."
    )
    with pytest.raises(DeskError, match=r"There is no conversation #999\."):
        composer.reply_context(999)


def test_a_template_is_filled_for_the_conversation_and_made_safe(
    demo_desk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")  # $agent_name: the demo's Kim Lee
    templates.save(
        "thanks", "Hello $contact_name,\nabout $subject (#$conversation_id).\n$agent_name"
    )
    assert composer.template_names() == ["thanks"]
    assert composer.template_text(EXPORT, "thanks") == (
        "Hello Lukas Schmidt,\nabout Dashboard export times out (#4).\nKim Lee"
    )
    hostile = composer.template_text(HOSTILE, "thanks")
    assert "\x1b" not in hostile and "\x07" not in hostile
    assert hostile.startswith("Hello [@click=app.quit]Mallory [2J[b],")
    with pytest.raises(DeskError, match="no template named 'nope'"):
        composer.template_text(EXPORT, "nope")


def test_the_quote_is_offered_only_where_the_channel_does_not_add_it(demo_desk: None) -> None:
    with pytest.raises(OutboxError, match="already quotes the customer's last mail"):
        composer.quote_text(EXPORT)
    outbound_setting(quote_previous=False)
    quote = composer.quote_text(EXPORT)
    assert quote.startswith("On ") and "Lukas Schmidt wrote:\n> " in quote
    assert composer.quote_text(HOSTILE).count("\x1b") == 0


def test_attachments_are_checked_as_they_are_added(demo_desk: None, tmp_path: Path) -> None:
    draft = drafts.Draft(EXPORT)
    small = tmp_path / "log.txt"
    small.write_bytes(b"x" * 600)
    added = composer.add_attachment(draft, str(small), limit=1000)
    assert added == small and draft.attachments == [str(small)]
    with pytest.raises(OutboxError, match=r"^log.txt is already attached.$"):
        composer.add_attachment(draft, str(small), limit=1000)
    missing = tmp_path / "nope.pdf"
    with pytest.raises(OutboxError) as caught:
        composer.add_attachment(draft, str(missing), limit=1000)
    assert str(caught.value) == f"Cannot read the attachment {missing}; check the path."
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 500)
    with pytest.raises(OutboxError) as caught:
        composer.add_attachment(draft, str(big), limit=1000)
    assert str(caught.value) == (
        "The attachments add up to 1,100 bytes, over this channel's limit of 1,000; send fewer "
        "or smaller files."
    )
    assert draft.attachments == [str(small)]  # a refused file changes nothing
    with pytest.raises(OutboxError, match="Type the path"):
        composer.add_attachment(draft, "  ", limit=1000)


def test_relative_and_home_paths_are_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("a")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    draft = drafts.Draft(1)
    composer.add_attachment(draft, "a.txt", limit=0)
    with pytest.raises(OutboxError, match="already attached"):
        composer.add_attachment(draft, "~/a.txt", limit=0)
    assert draft.attachments == [str(tmp_path / "a.txt")]


def test_the_cc_line_is_split_and_checked() -> None:
    assert composer.cc_addresses("") == []
    assert composer.cc_addresses("a@x.example, Bo Li <b@y.example>; c@z.example") == [
        "a@x.example",
        "Bo Li <b@y.example>",
        "c@z.example",
    ]
    with pytest.raises(OutboxError, match="'bob' in Cc is not an email address"):
        composer.cc_addresses("a@x.example, bob")


def test_sending_queues_the_reply_with_its_headers_and_forgets_the_draft(
    demo_desk: None, tmp_path: Path
) -> None:
    attachment = tmp_path / "steps.txt"
    attachment.write_text("1. open\n2. export\n")
    draft = drafts.Draft(EXPORT, body="Hello Lukas,\n\nfixed.", cc="Mei <mei@x.example>")
    draft.attachments.append(str(attachment))
    draft.status = "resolved"
    drafts.save(draft)
    queued = drafts.send(draft)
    assert not drafts.exists(EXPORT)
    assert queued.note == (
        "Reply to #4 queued, but channel demo has no server connected (it is a draft), so it "
        "stays queued until the channel is made active."
    )
    message = Message.get_by_id(queued.message_id)
    assert (message.direction, message.state) == ("out", "queued")
    assert message.to == ["lukas.schmidt@kestrel-analytics.example"]
    assert message.cc == ["mei@x.example"]
    assert message.in_reply_to == "<export-4@kestrel-analytics.example>"
    raw = message_from_bytes(blobs.read_raw(message.raw_path), policy=policy.default)
    assert raw["To"] == "lukas.schmidt@kestrel-analytics.example"
    assert raw["Cc"] == "Mei <mei@x.example>"
    assert raw["Subject"] == "Re: Dashboard export times out [#4]"
    assert raw["In-Reply-To"] == "<export-4@kestrel-analytics.example>"
    assert [part.get_filename() for part in raw.iter_attachments()] == ["steps.txt"]
    assert Conversation.get_by_id(EXPORT).status == "resolved"
    assert Outbox.get(Outbox.message == message).state == "queued"


def test_a_refused_reply_keeps_its_draft(demo_desk: None) -> None:
    draft = drafts.Draft(EXPORT, body="Hi", cc="not an address")
    drafts.save(draft)
    with pytest.raises(OutboxError, match="in Cc is not an email address"):
        drafts.send(draft)
    with pytest.raises(OutboxError, match="The reply is empty"):
        drafts.send(drafts.Draft(EXPORT, body="", cc="a@x.example"))
    assert drafts.load(EXPORT) == draft
    assert Outbox.select().count() == 0


def test_a_draft_channel_sends_nothing_its_replies_wait(demo_desk: None) -> None:
    queued = drafts.send(drafts.Draft(EXPORT, body="Hello"))

    class NoStore:
        def get(self, key: str) -> str:
            raise AssertionError("a draft channel must not even look for its password")

    assert delivery.flush(NoStore(), force=True) == []
    item = Outbox.get(Outbox.message == queued.message_id)
    assert (item.state, item.attempts, item.last_error) == ("queued", 0, None)


# --- $EDITOR ----------------------------------------------------------------------------------


def test_the_editor_is_visual_then_editor_then_a_fallback(tmp_path: Path) -> None:
    assert editor.editor_command({"VISUAL": "code --wait", "EDITOR": "vim"}) == ["code", "--wait"]
    assert editor.editor_command({"VISUAL": " ", "EDITOR": "'my editor' -n"}) == [
        "my editor",
        "-n",
    ]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nano = editor_script(bin_dir, "")
    nano.rename(bin_dir / "nano")
    assert editor.editor_command({"PATH": str(bin_dir)}) == [str(bin_dir / "nano")]
    with pytest.raises(DeskError) as caught:
        editor.editor_command({"PATH": str(tmp_path / "empty")})
    assert str(caught.value) == (
        "No editor was found; set $EDITOR (for example `export EDITOR=nano`) or install nano or vi."
    )
    with pytest.raises(DeskError, match="fix its quotes"):
        editor.editor_command({"EDITOR": "'unclosed"})


def test_the_editor_edits_a_private_file_that_is_removed_after(
    desk_home: Path, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    script = editor_script(
        tmp_path,
        "import os, stat\n"
        f"open({str(seen)!r}, 'w').write(oct(stat.S_IMODE(os.stat(sys.argv[1]).st_mode)))\n"
        "open(sys.argv[1], 'a').write('Added in the editor.\\n')",
    )
    edited = editor.edit_externally("Hello", 4, command=[str(script)])
    assert edited == "Hello\nAdded in the editor."
    assert seen.read_text() == "0o600"
    assert list(drafts.drafts_dir().iterdir()) == []


def test_an_editor_that_fails_or_is_missing_leaves_the_text(
    desk_home: Path, tmp_path: Path
) -> None:
    failing = editor_script(tmp_path, "open(sys.argv[1], 'w').write('lost'); sys.exit(3)")
    with pytest.raises(DeskError) as caught:
        editor.edit_externally("Hello", 4, command=[str(failing)])
    assert str(caught.value) == (
        "The editor fake-editor exited with status 3; the reply was left as it was."
    )
    with pytest.raises(DeskError) as caught:
        editor.edit_externally("Hello", 4, command=[str(tmp_path / "no-such-editor")])
    assert str(caught.value) == (
        f"Cannot run the editor '{tmp_path / 'no-such-editor'}' (No such file or directory); "
        "set $EDITOR to an editor that is installed."
    )
    assert list(drafts.drafts_dir().iterdir()) == []


# --- path completion --------------------------------------------------------------------------


def test_paths_complete_like_a_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("report-2024.pdf", "report-2025.pdf", "notes.txt", ".hidden"):
        (tmp_path / name).write_text("x")
    (tmp_path / "scans").mkdir()
    base = f"{tmp_path}/"
    assert composer.complete_path(base + "rep") == base + "report-202"
    assert composer.complete_path(base + "report-202") == base + "report-2024.pdf"
    assert composer.complete_path(base + "n") == base + "notes.txt"
    assert composer.complete_path(base + "s") == base + "scans/"
    assert composer.complete_path(base + ".h") == base + ".hidden"
    assert composer.complete_path(base + "zzz") is None
    assert composer.complete_path(base + "notes.txt") is None  # complete already
    assert composer.complete_path(str(tmp_path / "missing" / "x")) is None
    assert composer.complete_path("") is None
    monkeypatch.setenv("HOME", str(tmp_path))
    assert composer.complete_path("~/no") == "~/notes.txt"  # the ~ stays as typed
    monkeypatch.chdir(tmp_path)
    assert composer.complete_path("sc") == "scans/"


def test_a_cc_line_the_stdlib_misreads_is_quoted_as_typed() -> None:
    """`a@x b@x` reads as the address `@x`: the refusal names what the agent typed."""
    with pytest.raises(OutboxError, match=r"'tim@x\.example concierge@x\.example' in Cc is not a"):
        composer.cc_addresses("tim@x.example concierge@x.example")
