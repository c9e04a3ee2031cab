"""`deskterm poll` against the suite's real Dovecot: conversations, filters, threading, faults."""

from __future__ import annotations

import imaplib
from datetime import UTC, datetime, timedelta

import pytest

from deskterm.store import connection
from deskterm.store.models import Conversation, JobRun, Message
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"


@pytest.fixture
def inbox(mail_servers):
    """support@'s INBOX, emptied for this test."""
    mail_servers.clear(SUPPORT)
    for folder in ("Done", "Failed", "Other"):
        mail_servers.delete_folder(SUPPORT, folder)
    return mail_servers


@pytest.fixture
def channel(desk: Desk, inbox) -> Desk:
    password = inbox.users[SUPPORT]
    desk.add_channel(channel_toml(inbox), inbound=password, outbound=password)
    return desk


def poll(desk: Desk, ok: bool = True) -> dict:
    result = desk.run("poll", "--once", ok=ok)
    runs = desk.json("jobs")["runs"]
    return {"exit": result.exit_code, "run": runs[0] if runs else None, "stderr": result.stderr}


def flags(servers, user: str = SUPPORT, folder: str = "INBOX") -> list[str]:
    with servers.imap(user) as conn:
        conn.select(folder, readonly=True)
        _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
    return [line.decode() for line in data if line]


def test_a_customer_mail_becomes_a_conversation(channel: Desk, inbox) -> None:
    inbox.deliver(make_mail("Printer on fire", body="It is really on fire.\n"), SUPPORT)
    inbox.wait_for_messages(SUPPORT, 1)
    outcome = poll(channel)
    assert outcome["exit"] == 0
    run = outcome["run"]
    assert (run["fetched"], run["ingested"], run["skipped"], run["failed"]) == (1, 1, 0, 0)
    [row] = channel.json("conversations")
    assert row["subject"] == "Printer on fire"
    assert row["contact"] == "customer@desk.test"
    assert (row["status"], row["priority"], row["channel"], row["messages"]) == (
        "open",
        "normal",
        "support",
        1,
    )
    detail = channel.json("show", str(row["id"]))
    [message] = detail["messages"]
    assert message["direction"] == "in"
    assert message["from"] == "customer@desk.test"
    assert message["to"] == [SUPPORT]
    assert message["text"].strip() == "It is really on fire."
    # Processed on the server with our keyword, and still unread for humans.
    [flag_line] = flags(inbox)
    assert "$DeskProcessed" in flag_line and "\\Seen" not in flag_line


def test_a_second_poll_fetches_nothing_again(channel: Desk, inbox) -> None:
    inbox.append(SUPPORT, make_mail("One"))
    poll(channel)
    outcome = poll(channel)
    assert outcome["run"]["fetched"] == 0
    assert len(channel.json("conversations")) == 1


def test_replies_thread_by_references_and_reopen_resolved(channel: Desk, inbox) -> None:
    first = make_mail("Login broken", message_id="<first@customer.example>")
    inbox.append(SUPPORT, first)
    poll(channel)
    connection.open_database()
    Conversation.update(status="resolved").execute()
    connection.close_database()
    reply = make_mail(
        "Re: Login broken",
        message_id="<second@customer.example>",
        in_reply_to="<first@customer.example>",
        references=["<first@customer.example>"],
    )
    inbox.append(SUPPORT, reply)
    poll(channel)
    [row] = channel.json("conversations", "--status", "all")
    assert row["messages"] == 2
    assert row["status"] == "open"
    detail = channel.json("show", str(row["id"]))
    assert [m["message_id"] for m in detail["messages"]] == [
        "<first@customer.example>",
        "<second@customer.example>",
    ]
    assert detail["messages"][1]["in_reply_to"] == "<first@customer.example>"


def test_subject_token_is_trusted_only_from_participants(channel: Desk, inbox) -> None:
    inbox.append(SUPPORT, make_mail("Invoice question", cc="boss@customer.example"))
    poll(channel)
    [row] = channel.json("conversations")
    token = f"[#{row['id']}]"
    inbox.append(SUPPORT, make_mail(f"More about it {token}"))
    inbox.append(SUPPORT, make_mail(f"Also me {token}", sender="boss@customer.example"))
    inbox.append(SUPPORT, make_mail(f"Let me in {token}", sender="mallory@evil.example"))
    poll(channel)
    rows = {r["contact"]: r for r in channel.json("conversations")}
    assert rows["customer@desk.test"]["messages"] == 3
    assert rows["mallory@evil.example"]["messages"] == 1
    assert rows["mallory@evil.example"]["id"] != row["id"]


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "customer@desk.test", "auto-submitted: auto-replied"),
        ({"Precedence": "bulk"}, "news@shop.example", "precedence: bulk"),
        ({"List-Id": "<list.example.org>"}, "list@example.org", "list-id"),
        ({}, "MAILER-DAEMON@mail.example", "bounce: mailer-daemon"),
        ({}, "Desk Support <support@desk.test>", "loop: sent by our own address"),
    ],
)
def test_automated_mail_is_skipped_recorded_and_still_processed(
    channel: Desk, inbox, headers: dict, sender: str, reason: str
) -> None:
    inbox.append(
        SUPPORT,
        make_mail("Automatic", sender=sender, headers=headers, message_id="<auto@x.example>"),
    )
    outcome = poll(channel)
    assert outcome["run"]["skipped"] == 1 and outcome["run"]["ingested"] == 0
    assert channel.json("conversations") == []
    [skipped] = channel.json("skipped")
    assert skipped["reason"] == reason
    assert skipped["message_id"] == "<auto@x.example>"
    assert skipped["channel"] == "support"
    assert "$DeskProcessed" in flags(inbox)[0]


def test_channel_accepting_autogenerated_mail_ingests_it(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    toml = channel_toml(inbox) + "\n[reading]\naccept_autogenerated = true\n"
    desk.add_channel(toml, inbound=password, outbound=password)
    inbox.append(SUPPORT, make_mail("Out of office", headers={"Auto-Submitted": "auto-replied"}))
    poll(desk)
    assert len(desk.json("conversations")) == 1


def test_reading_filters_apply(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    toml = (
        channel_toml(inbox) + '\n[reading]\nallowed_domains = ["desk.test"]\n'
        'exclude_subjects = ["unsubscribe"]\n'
    )
    desk.add_channel(toml, inbound=password, outbound=password)
    inbox.append(SUPPORT, make_mail("Hello", sender="someone@elsewhere.example"))
    inbox.append(SUPPORT, make_mail("Please UNSUBSCRIBE me"))
    inbox.append(SUPPORT, make_mail("A real question"))
    poll(desk)
    assert [r["subject"] for r in desk.json("conversations")] == ["A real question"]
    reasons = sorted(s["reason"] for s in desk.json("skipped"))
    assert reasons[0] == "domain not allowed"
    assert reasons[1].startswith("excluded subject")


def test_the_same_mail_twice_is_stored_once(channel: Desk, inbox) -> None:
    raw = make_mail("Twice", message_id="<twice@customer.example>")
    inbox.append(SUPPORT, raw)
    inbox.deliver(raw, SUPPORT)  # a second copy, with other trace headers
    inbox.wait_for_messages(SUPPORT, 2)
    outcome = poll(channel)
    assert (outcome["run"]["ingested"], outcome["run"]["skipped"]) == (1, 1)
    assert [s["reason"] for s in channel.json("skipped")] == ["duplicate"]


def test_mail_without_message_id_still_deduplicates(channel: Desk, inbox) -> None:
    raw = make_mail("No id", message_id=None)
    inbox.append(SUPPORT, raw)
    inbox.append(SUPPORT, raw)
    inbox.append(SUPPORT, make_mail("No id", message_id=None, body="Different text\n"))
    poll(channel)
    rows = channel.json("conversations")
    assert sum(r["messages"] for r in rows) == 2


def test_uidvalidity_change_rescans_without_duplicates(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    inbox.create_folder(SUPPORT, "Other")
    desk.add_channel(
        channel_toml(inbox, inbound_extra='folders = ["Other"]'),
        inbound=password,
        outbound=password,
    )
    mails = [make_mail(f"Message {i}") for i in range(3)]
    for raw in mails:
        inbox.append(SUPPORT, raw, folder="Other")
    poll(desk)
    inbox.delete_folder(SUPPORT, "Other")
    inbox.create_folder(SUPPORT, "Other")  # new UIDVALIDITY, our keywords gone
    for raw in [*mails, make_mail("Message 3")]:
        inbox.append(SUPPORT, raw, folder="Other")
    outcome = poll(desk)
    assert outcome["run"]["fetched"] == 4
    assert (outcome["run"]["ingested"], outcome["run"]["skipped"]) == (1, 3)
    assert len(desk.json("conversations")) == 4


def test_mail_outside_the_age_window_is_not_fetched_until_widened(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    toml = channel_toml(inbox).replace("max_age_days = 0", "max_age_days = 5")
    desk.add_channel(toml, inbound=password, outbound=password)
    old = datetime.now(UTC) - timedelta(days=30)
    with inbox.imap(SUPPORT) as conn:
        conn.append(
            "INBOX",
            None,
            imaplib.Time2Internaldate(old.timestamp()),
            make_mail("Old news", date=old),
        )
    inbox.append(SUPPORT, make_mail("Fresh"))
    outcome = poll(desk)
    assert outcome["run"]["fetched"] == 1
    assert [r["subject"] for r in desk.json("conversations")] == ["Fresh"]
    wider = desk.home.parent / "wider.toml"
    wider.write_text(toml.replace("max_age_days = 5", "max_age_days = 0"))
    desk.run("channel", "edit", "support", "--file", str(wider))
    outcome = poll(desk)
    assert outcome["run"]["fetched"] == 1
    assert sorted(r["subject"] for r in desk.json("conversations")) == ["Fresh", "Old news"]


def test_success_and_failure_folders(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    inbox.create_folder(SUPPORT, "Done")
    inbox.create_folder(SUPPORT, "Failed")
    extra = 'move_on_success = "Done"\nmove_on_failure = "Failed"\nmax_message_bytes = 20000'
    desk.add_channel(channel_toml(inbox, inbound_extra=extra), inbound=password, outbound=password)
    inbox.append(SUPPORT, make_mail("Small"))
    inbox.append(SUPPORT, make_mail("Huge", body="x" * 40000 + "\n"))
    outcome = poll(desk)
    assert (outcome["run"]["ingested"], outcome["run"]["failed"]) == (1, 1)
    assert inbox.messages(SUPPORT) == []
    assert len(inbox.messages(SUPPORT, "Done")) == 1
    assert len(inbox.messages(SUPPORT, "Failed")) == 1
    [skipped] = desk.json("skipped")
    assert skipped["reason"].startswith("too large (")
    # Named by its headers alone (the body was never fetched).
    assert (skipped["subject"], skipped["from"]) == ("Huge", "customer@desk.test")


def test_wrong_password_is_recorded_and_cools_off(desk: Desk, inbox) -> None:
    extra = "max_tries = 2\ncool_off_minutes = 30"
    desk.add_channel(
        channel_toml(inbox, inbound_extra=extra),
        inbound="not-the-password",
        outbound="not-the-password",
    )
    first = poll(desk, ok=False)
    assert first["exit"] == 1
    assert "refused the login" in first["run"]["error"]
    state = desk.json("jobs")["channels"][0]
    assert state["state"] == "failing"
    poll(desk, ok=False)
    state = desk.json("jobs")["channels"][0]
    assert state["state"] == "cooling off"
    assert "refused the login" in state["detail"]
    # While cooling off the channel is left alone: no new run.
    runs_before = len(desk.json("jobs")["runs"])
    desk.run("poll", "--once")
    assert len(desk.json("jobs")["runs"]) == runs_before


def test_a_deleted_folder_fails_clearly_and_other_channels_keep_working(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    inbox.create_folder(SUPPORT, "Other")
    desk.add_channel(
        channel_toml(inbox, name="broken", inbound_extra='folders = ["Other"]'),
        inbound=password,
        outbound=password,
    )
    desk.add_channel(channel_toml(inbox), inbound=password, outbound=password)
    inbox.delete_folder(SUPPORT, "Other")
    inbox.append(SUPPORT, make_mail("Still arrives"))
    outcome = poll(desk, ok=False)
    assert outcome["exit"] == 1
    runs = {r["channel"]: r for r in desk.json("jobs")["runs"]}
    assert "Folder 'Other' cannot be opened" in runs["broken"]["error"]
    assert runs["support"]["ingested"] == 1 and runs["support"]["error"] is None


def test_skip_window_and_disabled_channels_are_not_polled(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    now = datetime.now()
    start = (now - timedelta(minutes=1)).strftime("%H:%M")
    end = (now + timedelta(minutes=2)).strftime("%H:%M")
    toml = channel_toml(inbox, inbound_extra=f'skip_windows = ["{start}-{end}"]')
    desk.add_channel(toml, inbound=password, outbound=password)
    # A disabled channel on another mailbox, complete and working in every other respect.
    customer = "customer@desk.test"
    inbox.clear(customer)
    disabled = (
        channel_toml(inbox, name="retired")
        .replace('status = "active"', 'status = "disabled"')
        .replace(SUPPORT, customer)
    )
    desk.add_channel(disabled, inbound=inbox.users[customer], outbound=inbox.users[customer])
    inbox.append(SUPPORT, make_mail("Waits"))
    inbox.append(customer, make_mail("Waits too"))
    desk.run("poll", "--once")
    desk.run("poll", "--once", "--channel", "retired")
    assert desk.json("jobs")["runs"] == []
    states = {c["name"]: c["state"] for c in desk.json("jobs")["channels"]}
    assert states == {"support": "skip window", "retired": "disabled"}
    assert desk.json("conversations", "--status", "all") == []
    assert "$DeskProcessed" not in flags(inbox)[0]
    assert "$DeskProcessed" not in flags(inbox, customer)[0]


def test_malformed_mail_is_stored_safely(channel: Desk, inbox) -> None:
    hostile = (
        b"From: =?utf-8?q?=1B]52;c;ZXZpbA=3D=3D=07Eve?= <eve@evil.example>\r\n"
        b"Subject: [bold]hi[/bold] [@click=app.quit] \x1b[31mred\r\n"
        b"Content-Type: multipart/mixed; boundary=nope\r\n\r\n"
        b"--nope\r\nContent-Type: text/plain; charset=bogus-charset\r\n\r\n\xff\xfe broken\r\n"
    )
    inbox.append(SUPPORT, hostile)
    outcome = poll(channel)
    assert outcome["run"]["ingested"] == 1
    [row] = channel.json("conversations")
    assert "[@click=app.quit]" in row["subject"]
    plain = channel.run("conversations").stdout
    assert "\x1b" not in plain
    shown = channel.run("show", str(row["id"])).stdout
    assert "\x1b" not in shown and "\x07" not in shown


def test_pop3_ingests_once_and_deletes_only_when_asked(desk: Desk, inbox) -> None:
    password = inbox.users[SUPPORT]
    desk.add_channel(channel_toml(inbox, protocol="pop3"), inbound=password, outbound=password)
    inbox.append(SUPPORT, make_mail("Via POP3"))
    poll(desk)
    outcome = poll(desk)
    assert outcome["run"]["fetched"] == 0
    assert len(desk.json("conversations")) == 1
    assert len(inbox.messages(SUPPORT)) == 1  # kept on the server

    wider = desk.home.parent / "delete.toml"
    wider.write_text(
        channel_toml(inbox, protocol="pop3", inbound_extra="delete_after_fetch = true")
    )
    desk.run("channel", "edit", "support", "--file", str(wider))
    inbox.append(SUPPORT, make_mail("Second via POP3"))
    outcome = poll(desk)
    assert outcome["run"]["ingested"] == 1
    assert len(desk.json("conversations")) == 2
    # Once asked to delete, every committed mail goes: the new one, and the one ingested
    # before the change (it is safe in the desk); nothing was ingested twice.
    assert inbox.messages(SUPPORT) == []
    assert outcome["run"]["fetched"] == 1


def test_job_runs_are_recorded_with_counts(channel: Desk, inbox) -> None:
    for i in range(3):
        inbox.append(SUPPORT, make_mail(f"Batch {i}"))
    poll(channel)
    connection.open_database()
    run = JobRun.select().order_by(JobRun.id.desc()).first()
    assert run.finished_at >= run.started_at
    assert (run.fetched, run.ingested) == (3, 3)
    assert Message.select().count() == 3
    connection.close_database()


def test_conversations_search_is_full_text(channel: Desk, inbox) -> None:
    inbox.append(SUPPORT, make_mail("Invoice", body="The invoice has the wrong VAT number.\n"))
    inbox.append(
        SUPPORT,
        make_mail(
            "Shipping", body="Parcel stuck in Zürich.\n", sender="Åsa Lindqvist <asa@kund.example>"
        ),
    )
    poll(channel)
    found = channel.json("conversations", "--search", "vat numb")
    assert [r["subject"] for r in found] == ["Invoice"]
    assert [r["subject"] for r in channel.json("conversations", "--search", "zurich")] == [
        "Shipping"
    ]  # diacritics folded
    assert [r["subject"] for r in channel.json("conversations", "--search", "lindqvist")] == [
        "Shipping"
    ]
    assert channel.json("conversations", "--search", "100%") == []
