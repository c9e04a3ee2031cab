"""POP3 against the suite's real Dovecot: mail too large, lost deletes, the age window.

What the server did in a session (TOP, RETR, DELE) is read from Dovecot's own log line at
logout, so the tests see the protocol as the server saw it.
"""

from __future__ import annotations

import poplib
import re
import socket
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest

from deskterm.channels import registry as channels
from deskterm.inbound import pop3_sync
from deskterm.inbound.parse_guard import KILLED, ParseGuard
from deskterm.inbound.stages import Counts
from deskterm.net import pop3 as pop3_conn
from deskterm.net.login import Credentials
from deskterm.store import connection
from deskterm.store.models import Channel, FolderState, Pop3Seen, SkippedMail
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
SMALL_LIMIT = "max_message_bytes = 20000"
DELETE = "delete_after_fetch = true"
_STATS = re.compile(r"pop3\(support@desk\.test\).*top=(\d+)/\d+, retr=(\d+)/\d+, del=(\d+)/")


@pytest.fixture
def inbox(mail_servers):
    """support@'s INBOX, emptied for this test."""
    mail_servers.clear(SUPPORT)
    return mail_servers


def pop3_toml(servers, *extra: str) -> str:
    """A POP3 channel file for support@ with these inbound settings (no window unless set)."""
    toml = channel_toml(servers, protocol="pop3", inbound_extra="\n".join(extra))
    if any("max_age_days" in line for line in extra):
        toml = toml.replace("max_age_days = 0\n", "", 1)  # channel_toml's own
    return toml


def add_pop3(desk: Desk, servers, *extra: str) -> None:
    desk.add_channel(
        pop3_toml(servers, *extra), inbound=servers.users[SUPPORT], outbound=servers.users[SUPPORT]
    )


def edit(desk: Desk, servers, *extra: str) -> None:
    path = desk.home.parent / "edited.toml"
    path.write_text(pop3_toml(servers, *extra))
    desk.run("channel", "edit", "support", "--file", str(path))


def poll(desk: Desk) -> dict:
    """One `deskterm poll --once`; its job run."""
    desk.run("poll", "--once")
    return desk.json("jobs")["runs"][0]


def log_size(servers) -> int:
    return (Path(servers.log_dir) / "dovecot.log").stat().st_size


def logged_sessions(servers, offset: int) -> list[tuple[str, str, str]]:
    """The POP3 sessions' command counts Dovecot logged after `offset`, once there is one:
    its log process writes a session's line after the client has gone (up to 5 s here)."""
    log = Path(servers.log_dir) / "dovecot.log"
    deadline = time.monotonic() + 5
    while True:
        with log.open("rb") as f:
            f.seek(offset)
            found = _STATS.findall(f.read().decode("utf-8", "replace"))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def polled(desk: Desk, servers) -> tuple[dict, dict[str, int]]:
    """One poll, with what Dovecot logged for its POP3 session (commands it served)."""
    offset = log_size(servers)
    run = poll(desk)
    found = logged_sessions(servers, offset)
    assert len(found) == 1, f"one POP3 session expected in Dovecot's log, found {found}"
    top, retr, dele = (int(v) for v in found[0])
    return run, {"top": top, "retr": retr, "dele": dele}


def subjects(servers) -> list[str]:
    """The subjects left in support@'s INBOX on the server."""
    return sorted(str(message_from_bytes(raw)["Subject"]) for raw in servers.messages(SUPPORT))


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


# --- mail too large to fetch ----------------------------------------------------------------


def test_oversize_mail_stays_on_the_server_recorded_once_with_sender_and_subject(
    desk: Desk, inbox
) -> None:
    add_pop3(desk, inbox, DELETE, SMALL_LIMIT)
    inbox.append(SUPPORT, make_mail("Huge", body="x" * 40000 + "\n", sender="Ann <ann@a.test>"))
    inbox.append(SUPPORT, make_mail("Small"))
    run, served = polled(desk, inbox)
    assert (run["fetched"], run["ingested"], run["failed"]) == (2, 1, 1)
    assert served["retr"] == 1  # the small one only
    assert subjects(inbox) == ["Huge"]  # never deleted: there is no other copy
    [skipped] = desk.json("skipped")
    assert skipped["reason"].startswith("too large (")
    assert (skipped["from"], skipped["subject"]) == ("ann@a.test", "Huge")

    run, served = polled(desk, inbox)
    assert run["fetched"] == 0
    assert served == {"top": 0, "retr": 0, "dele": 0}  # not read again, not deleted
    assert len(desk.json("skipped")) == 1
    assert subjects(inbox) == ["Huge"]


def test_mail_recorded_as_too_large_by_an_older_version_is_never_deleted(desk: Desk, inbox) -> None:
    """Earlier versions put such mail's UIDL into Pop3Seen too: deleting all of Pop3Seen
    would delete it now."""
    add_pop3(desk, inbox, SMALL_LIMIT)
    inbox.append(SUPPORT, make_mail("Huge", body="x" * 40000 + "\n"))
    assert poll(desk)["failed"] == 1
    connection.open_database()
    [row] = SkippedMail.select()
    Pop3Seen.create(channel=Channel.get(), uidl=row.uid)
    connection.close_database()
    edit(desk, inbox, SMALL_LIMIT, DELETE)
    _, served = polled(desk, inbox)
    assert served["dele"] == 0
    assert subjects(inbox) == ["Huge"]


def test_lines_longer_than_poplib_allows_do_not_stop_the_channel(desk: Desk, inbox) -> None:
    """poplib refuses lines over 2048 bytes; such a mail failed every poll, and all after it."""
    add_pop3(desk, inbox, SMALL_LIMIT, "max_age_days = 5")  # a window: both read with TOP
    long_subject = "Long " + "s" * 3000
    raw = (
        f"From: Ann <ann@a.test>\r\nSubject: {long_subject}\r\nMessage-ID: <long@a.test>\r\n"
        "\r\n" + "y" * 5000 + "\r\n"
    ).encode()
    inbox.append(SUPPORT, raw)
    huge = raw.replace(b"<long@a.test>", b"<huge@a.test>") + b"z" * 40000 + b"\r\n"
    inbox.append(SUPPORT, huge)
    run = poll(desk)
    assert run["error"] is None
    assert (run["ingested"], run["failed"]) == (1, 1)
    [conversation] = desk.json("conversations")
    assert conversation["subject"] == long_subject
    [skipped] = desk.json("skipped")
    assert skipped["subject"] == long_subject  # read with TOP despite the long line


def test_mail_that_killed_the_parser_is_kept_and_never_fetched_again(desk: Desk, inbox) -> None:
    """Set aside after the parser died on it alone twice (deskterm.inbound.parse_guard), a
    mail is recorded as failed with its raw bytes kept. It stayed out of Pop3Seen, so every
    poll fetched and parsed it again, and a mail that kills the parser killed it again."""
    add_pop3(desk, inbox)
    inbox.append(SUPPORT, make_mail("Deadly"))
    connection.open_database()
    try:
        channel = Channel.get()
        endpoint = channels.endpoint(channel, "inbound")
        before = log_size(inbox)
        client = pop3_conn.connect(endpoint)
        pop3_conn.login(client, endpoint, Credentials(SUPPORT, inbox.users[SUPPORT]))
        [uidl] = pop3_conn.listing(client)
        client.quit()
        # This session's own line is logged before the poll's is looked for (on a loaded
        # machine Dovecot once logged it late, where the poll's session was expected alone).
        assert logged_sessions(inbox, before)
        guard = ParseGuard(channel.id, pop3_sync.FOLDER, "")
        guard.parsing([uidl], alone=True, deaths=1)  # as a poll killed twice on it leaves it
    finally:
        connection.close_database()
    run, served = polled(desk, inbox)
    assert (run["fetched"], run["failed"], served["retr"]) == (1, 1, 1)
    [skipped] = desk.json("skipped")
    assert skipped["reason"] == KILLED

    run, served = polled(desk, inbox)
    assert run["fetched"] == 0
    assert served["retr"] == 0  # not fetched (nor parsed) again
    assert len(desk.json("skipped")) == 1


# --- deletes lost with a failed run ---------------------------------------------------------


def test_deletes_lost_by_a_failed_run_are_made_by_the_next(
    desk: Desk, inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_pop3(desk, inbox, DELETE)
    inbox.append(SUPPORT, make_mail("First"))
    inbox.append(SUPPORT, make_mail("Second"))
    monkeypatch.setattr(pop3_sync, "BATCH", 1)
    connection.open_database()
    channel = Channel.get()
    endpoint = channels.endpoint(channel, "inbound")
    client = pop3_conn.connect(endpoint)

    def connection_drops(folder: str, done: int, total: int) -> None:
        client.sock.shutdown(socket.SHUT_RDWR)  # after the first batch committed

    try:
        pop3_conn.login(client, endpoint, Credentials(SUPPORT, inbox.users[SUPPORT]))
        with pytest.raises((OSError, poplib.error_proto)):
            pop3_sync.sync(channel, client, Counts(), progress=connection_drops)
    finally:
        client.close()
        connection.close_database()
    # No QUIT: Dovecot dropped the delete of the committed first mail.
    assert subjects(inbox) == ["First", "Second"]
    assert [c["subject"] for c in desk.json("conversations")] == ["First"]

    run, served = polled(desk, inbox)
    assert run["fetched"] == 1  # only the second: the first was committed
    assert served["dele"] == 2
    assert subjects(inbox) == []
    assert sorted(c["subject"] for c in desk.json("conversations")) == ["First", "Second"]


# --- the age window -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    ["max_age_days = 5", f'max_age_days = 0\nsync_start_date = "{date.today() - timedelta(10)}"'],
)
def test_mail_outside_the_window_is_left_alone_until_widened(
    desk: Desk, inbox, window: str
) -> None:
    add_pop3(desk, inbox, DELETE, window)
    inbox.append(SUPPORT, make_mail("Old news", date=days_ago(30)))
    inbox.append(SUPPORT, make_mail("Fresh", date=days_ago(2)))
    run = poll(desk)
    assert run["fetched"] == 1
    assert [c["subject"] for c in desk.json("conversations")] == ["Fresh"]
    assert subjects(inbox) == ["Old news"]  # not deleted with the fetched one
    connection.open_database()
    assert Pop3Seen.select().count() == 1  # not recorded: a wider window takes it
    connection.close_database()

    edit(desk, inbox, DELETE)  # no window
    run = poll(desk)
    assert run["fetched"] == 1
    assert sorted(c["subject"] for c in desk.json("conversations")) == ["Fresh", "Old news"]
    assert subjects(inbox) == []


def test_mail_without_a_readable_date_is_fetched(desk: Desk, inbox) -> None:
    add_pop3(desk, inbox, "max_age_days = 5")
    for n, date_header in enumerate(["", "Date: not a date at all\r\n"]):
        raw = f"From: ann@a.test\r\nSubject: Undated {n}\r\n{date_header}\r\nHello\r\n"
        inbox.append(SUPPORT, raw.encode())
    inbox.append(SUPPORT, make_mail("Old news", date=days_ago(30)))
    assert poll(desk)["fetched"] == 2
    assert sorted(c["subject"] for c in desk.json("conversations")) == ["Undated 0", "Undated 1"]


def test_the_window_counts_back_from_the_first_sync(desk: Desk, inbox) -> None:
    add_pop3(desk, inbox, "max_age_days = 5")
    poll(desk)
    connection.open_database()
    [state] = FolderState.select()
    assert (state.folder, state.first_sync_on) == ("INBOX", date.today())
    # The desk first synced 60 days ago, then stopped; this mail came in meanwhile.
    state.first_sync_on = date.today() - timedelta(days=60)
    state.save()
    connection.close_database()
    inbox.append(SUPPORT, make_mail("While we were away", date=days_ago(30)))
    assert poll(desk)["ingested"] == 1


def test_a_poll_does_not_read_the_headers_of_mail_left_out_again(desk: Desk, inbox) -> None:
    add_pop3(desk, inbox, "max_age_days = 5")
    inbox.append(SUPPORT, make_mail("Old news", date=days_ago(30)))
    _, served = polled(desk, inbox)
    assert served["top"] == 1
    inbox.append(SUPPORT, make_mail("Fresh"))
    run, served = polled(desk, inbox)
    assert run["fetched"] == 1
    assert served["top"] == 1  # the new mail's, not the old one's again


# --- pipelined commands ---------------------------------------------------------------------


def test_a_refused_command_in_a_pipeline_does_not_derail_the_others(desk: Desk, inbox) -> None:
    add_pop3(desk, inbox)
    for n in range(3):
        inbox.append(SUPPORT, make_mail(f"Message {n}"))
    connection.open_database()
    endpoint = channels.endpoint(Channel.get(), "inbound")
    client = pop3_conn.connect(endpoint)
    try:
        pop3_conn.login(client, endpoint, Credentials(SUPPORT, inbox.users[SUPPORT]))
        depth = pop3_conn.pipeline_depth(client)
        assert depth == pop3_conn.PIPELINE  # Dovecot pipelines
        assert pop3_conn.delete(client, [2, 2], depth) == [2]  # already deleted: refused
        found = pop3_conn.headers(client, [1, 2, 3], depth)
        assert sorted(found) == [1, 3]  # TOP of a deleted message is refused
        assert [message_from_bytes(found[n])["Subject"] for n in (1, 3)] == [
            "Message 0",
            "Message 2",
        ]
        assert client.noop().startswith(b"+OK")  # the session is still in step
    finally:
        client.close()  # no QUIT: nothing is deleted
        connection.close_database()


def test_a_copy_of_mail_once_too_large_is_ingested_when_it_fits(desk: Desk, inbox) -> None:
    """The row of mail too large holds no dedup key: one read from its headers alone would
    match a complete copy of a mail without text, which would then count as recorded."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "ann@a.test", SUPPORT, "Scan"
    mail["Message-ID"] = "<scan@a.test>"
    mail.add_attachment(b"%PDF" + bytes(range(256)) * 160, "application", "pdf", filename="s.pdf")
    raw = bytes(mail)
    add_pop3(desk, inbox, SMALL_LIMIT)
    inbox.append(SUPPORT, raw)
    assert poll(desk)["failed"] == 1
    edit(desk, inbox)  # the default limit
    inbox.append(SUPPORT, raw)  # sent again
    run = poll(desk)
    assert (run["fetched"], run["ingested"]) == (1, 1)
