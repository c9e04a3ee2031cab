"""What an IMAP sync leaves on the server, against the suite's real Dovecot (and private ones
whose CAPABILITY lacks MOVE, or MOVE and UIDPLUS).

The age window counts from the folder's first sync, so mail that arrived while the desk was
down is still fetched; moving processed mail uses UID MOVE (capabilities are read again after
login) and, without it, never expunges more than our own messages; a refused move is one
sentence naming the folder, and what was committed is still counted.
"""

from __future__ import annotations

import email
import imaplib
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from deskterm.channels import registry as channels
from deskterm.net import imap as imap_conn
from deskterm.net.login import Credentials
from deskterm.net.steps import Steps
from deskterm.store import connection
from deskterm.store.models import Channel, FolderState
from tests.conftest import Desk, channel_toml
from tests.engine.test_keyword_fallback import AclDovecot
from tests.mailfactory import make_mail
from tests.servers.mailservers import ensure_mail_user, private_dovecot

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"


def emptied(servers):
    """support@'s INBOX on servers, emptied, and no folders left over from other tests."""
    servers.clear(SUPPORT)
    for folder in ("Done", "Failed", "Other", "Nope"):
        servers.delete_folder(SUPPORT, folder)
    return servers


@pytest.fixture
def inbox(mail_servers):
    """support@'s INBOX on the suite's Dovecot, emptied, and no leftover folders."""
    return emptied(mail_servers)


@pytest.fixture
def commands(monkeypatch) -> list[str]:
    """Every UID command the desk sends (MOVE, COPY, STORE, EXPUNGE...), in order."""
    sent: list[str] = []
    real = imaplib.IMAP4.uid

    def uid(self: imaplib.IMAP4, command: str, *args: object) -> tuple[str, list]:
        sent.append(command.upper())
        return real(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", uid)
    return sent


def poll(desk: Desk, ok: bool = True) -> dict:
    desk.run("poll", "--once", ok=ok)
    return desk.json("jobs")["runs"][0]


def append_dated(servers, subject: str, days_ago: int, folder: str = "INBOX") -> None:
    """APPEND with an INTERNALDATE in the past, which is what SEARCH SINCE looks at."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    with servers.imap(SUPPORT) as conn:
        typ, data = conn.append(
            folder, None, imaplib.Time2Internaldate(when.timestamp()), make_mail(subject, date=when)
        )
    assert typ == "OK", data


def subjects(desk: Desk) -> list[str]:
    return sorted(r["subject"] for r in desk.json("conversations"))


def folder_state() -> FolderState:
    connection.open_database()
    try:
        return FolderState.get()
    finally:
        connection.close_database()


def set_first_sync(day: date | None) -> None:
    """What a desk that was stopped since `day` looks like (or one from before the column)."""
    connection.open_database()
    FolderState.update(first_sync_on=day).execute()
    connection.close_database()


def server_view(servers, folder: str = "INBOX") -> list[tuple[str, str]]:
    """(Subject, FLAGS) of every message in folder, in UID order, read-only."""
    with servers.imap(SUPPORT) as conn:
        typ, _ = conn.select(folder, readonly=True)
        assert typ == "OK"
        _, data = conn.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    found = []
    for part in data:
        if isinstance(part, tuple):
            flags = part[0].decode().partition("FLAGS (")[2].partition(")")[0]
            found.append((email.message_from_bytes(part[1])["Subject"], flags))
    return found


# --- the age window ------------------------------------------------------------------------


@pytest.fixture
def windowed(desk: Desk, inbox) -> Iterator[tuple[Desk, str]]:
    toml = channel_toml(inbox).replace("max_age_days = 0", "max_age_days = 5")
    desk.add_channel(toml, inbound=inbox.users[SUPPORT], outbound=inbox.users[SUPPORT])
    yield desk, toml


def test_mail_that_arrived_while_the_desk_was_down_longer_than_the_window_is_fetched(
    windowed: tuple[Desk, str], inbox
) -> None:
    desk, toml = windowed
    append_dated(inbox, "Old news", days_ago=30)
    inbox.append(SUPPORT, make_mail("Fresh"))
    assert poll(desk)["fetched"] == 1
    assert subjects(desk) == ["Fresh"]
    assert folder_state().first_sync_on == date.today()

    # The desk was first synced 10 days ago and has not polled since; meanwhile mail came in
    # 8 days ago: outside today's 5-day window, but after the first sync.
    set_first_sync(date.today() - timedelta(days=10))
    append_dated(inbox, "While we were down", days_ago=8)
    assert poll(desk)["fetched"] == 1
    assert subjects(desk) == ["Fresh", "While we were down"]  # and still no "Old news"

    wider = desk.home.parent / "wider.toml"
    wider.write_text(toml.replace("max_age_days = 5", "max_age_days = 0"))
    desk.run("channel", "edit", "support", "--file", str(wider))
    assert poll(desk)["fetched"] == 1
    assert subjects(desk) == ["Fresh", "Old news", "While we were down"]


def test_a_folder_state_without_a_first_sync_day_counts_from_today(
    windowed: tuple[Desk, str], inbox
) -> None:
    desk, _ = windowed
    poll(desk)
    set_first_sync(None)  # a desk from before the column, not migrated
    append_dated(inbox, "Eight days old", days_ago=8)
    assert poll(desk)["fetched"] == 0
    assert folder_state().first_sync_on == date.today()


def test_a_uidvalidity_change_keeps_the_first_sync_day(desk: Desk, inbox) -> None:
    inbox.create_folder(SUPPORT, "Other")
    extra = 'folders = ["Other"]\nmax_age_days = 5'
    toml = channel_toml(inbox, inbound_extra=extra).replace("max_age_days = 0\n", "")
    desk.add_channel(toml, inbound=inbox.users[SUPPORT], outbound=inbox.users[SUPPORT])
    poll(desk)
    anchor = date.today() - timedelta(days=10)
    set_first_sync(anchor)
    uidvalidity = folder_state().uidvalidity
    inbox.delete_folder(SUPPORT, "Other")
    inbox.create_folder(SUPPORT, "Other")  # a new UIDVALIDITY
    append_dated(inbox, "While we were down", days_ago=8, folder="Other")
    assert poll(desk)["fetched"] == 1
    state = folder_state()
    assert state.uidvalidity != uidvalidity
    assert state.first_sync_on == anchor


# --- moving processed mail -----------------------------------------------------------------


def test_capabilities_are_read_again_after_login(desk: Desk, inbox) -> None:
    desk.add_channel(
        channel_toml(inbox), inbound=inbox.users[SUPPORT], outbound=inbox.users[SUPPORT]
    )
    connection.open_database()
    endpoint = channels.endpoint(Channel.get(), "inbound")
    connection.close_database()
    mailbox = imap_conn.connect(endpoint)
    try:
        assert "MOVE" not in mailbox.client.capabilities  # Dovecot's greeting omits it
        imap_conn.login(mailbox, endpoint, Credentials(SUPPORT, inbox.users[SUPPORT]), Steps())
        assert {"MOVE", "UIDPLUS", "IDLE"} <= set(mailbox.client.capabilities)
    finally:
        mailbox.logout()


def set_up_moving(desk: Desk, inbox) -> Desk:
    """A channel moving processed mail to Done; INBOX holds a message a person marked
    \\Deleted (already processed) without expunging it, and one new message."""
    inbox.create_folder(SUPPORT, "Done")
    extra = 'move_on_success = "Done"'
    desk.add_channel(
        channel_toml(inbox, inbound_extra=extra),
        inbound=inbox.users[SUPPORT],
        outbound=inbox.users[SUPPORT],
    )
    inbox.append(SUPPORT, make_mail("Binned by a person"), flags=["$DeskProcessed", "\\Deleted"])
    inbox.append(SUPPORT, make_mail("New question"))
    return desk


@pytest.fixture
def moving(desk: Desk, inbox) -> Desk:
    return set_up_moving(desk, inbox)


def test_moving_uses_uid_move_and_leaves_no_deleted_copy(
    moving: Desk, inbox, commands: list[str]
) -> None:
    assert poll(moving)["ingested"] == 1
    assert "MOVE" in commands and "COPY" not in commands and "EXPUNGE" not in commands
    [(subject, flags)] = server_view(inbox)
    assert subject == "Binned by a person" and "\\Deleted" in flags
    [(subject, flags)] = server_view(inbox, "Done")
    assert subject == "New question" and "\\Deleted" not in flags


# Dovecot 2.3's CAPABILITY once logged in, as the suite's server sends it.
DOVECOT_CAPABILITY = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW "
    "STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
)


class NoMoveDovecot(AclDovecot):
    """A private Dovecot (ACL plugin on) whose CAPABILITY, before and after login, lacks
    MOVE. Dovecot still performs a UID MOVE it does not advertise, so the tests check which
    commands the desk sends (the `commands` fixture), not only what the folders hold."""

    DROPPED: tuple[str, ...] = ("MOVE",)

    def _write_dovecot_conf(self, uid: int, gid: int) -> None:
        super()._write_dovecot_conf(uid, gid)
        kept = " ".join(c for c in DOVECOT_CAPABILITY.split() if c not in self.DROPPED)
        with self.dovecot_conf.open("a") as conf:
            conf.write(f"imap_capability = {kept}\n")

    def set_folder_acl(self, user: str, folder: str, acl: str) -> None:
        """Give user's folder (a Maildir++ subfolder) this ACL."""
        local, domain = user.split("@")
        path = self.state_dir / "mail" / domain / local / "Maildir" / f".{folder}" / "dovecot-acl"
        path.write_text(acl + "\n")
        os.chown(path, *ensure_mail_user())
        path.chmod(0o600)


class NoMoveNoUidplusDovecot(NoMoveDovecot):
    """A private Dovecot whose CAPABILITY lacks both MOVE and UIDPLUS."""

    DROPPED = ("MOVE", "UIDPLUS")


@pytest.fixture(scope="module")
def no_move_dovecot() -> Iterator[NoMoveDovecot]:
    with private_dovecot(NoMoveDovecot) as servers:
        yield servers


@pytest.fixture(scope="module")
def no_move_no_uidplus_dovecot() -> Iterator[NoMoveNoUidplusDovecot]:
    with private_dovecot(NoMoveNoUidplusDovecot) as servers:
        yield servers


def capabilities(servers) -> set[str]:
    """What servers advertises once support@ is logged in."""
    with servers.imap(SUPPORT) as conn:
        typ, data = conn.capability()
    assert typ == "OK"
    return set(data[0].decode().upper().split())


def test_without_move_only_our_messages_are_expunged(
    desk: Desk, no_move_dovecot: NoMoveDovecot, commands: list[str]
) -> None:
    inbox = emptied(no_move_dovecot)
    caps = capabilities(inbox)
    assert "MOVE" not in caps and {"UIDPLUS", "IMAP4REV1", "IDLE"} <= caps  # the premise
    moving = set_up_moving(desk, inbox)
    commands.clear()
    assert poll(moving)["ingested"] == 1
    assert [c for c in commands if c in ("MOVE", "COPY", "EXPUNGE")] == ["COPY", "EXPUNGE"]
    [(subject, flags)] = server_view(inbox)
    assert subject == "Binned by a person" and "\\Deleted" in flags
    assert [s for s, _ in server_view(inbox, "Done")] == ["New question"]


def test_without_move_or_uidplus_nothing_is_expunged_and_the_originals_are_processed(
    desk: Desk, no_move_no_uidplus_dovecot: NoMoveNoUidplusDovecot, commands: list[str]
) -> None:
    inbox = emptied(no_move_no_uidplus_dovecot)
    caps = capabilities(inbox)
    assert not caps & {"MOVE", "UIDPLUS"} and {"IMAP4REV1", "IDLE"} <= caps  # the premise
    moving = set_up_moving(desk, inbox)
    commands.clear()
    assert poll(moving)["ingested"] == 1
    assert "EXPUNGE" not in commands
    view = dict(server_view(inbox))
    assert set(view) == {"Binned by a person", "New question"}
    assert "\\Deleted" in view["New question"] and "$DeskProcessed" in view["New question"]
    assert [s for s, _ in server_view(inbox, "Done")] == ["New question"]
    assert poll(moving)["fetched"] == 0  # the \Deleted original is not fetched again
    assert len(server_view(inbox, "Done")) == 1


def test_a_refused_copy_names_folder_and_setting_and_flags_nothing(
    desk: Desk, no_move_dovecot: NoMoveDovecot, commands: list[str]
) -> None:
    inbox = emptied(no_move_dovecot)
    inbox.create_folder(SUPPORT, "Failed")
    inbox.set_folder_acl(SUPPORT, "Failed", "owner lrswtek")  # no "i": COPY into it is refused
    extra = 'move_on_failure = "Failed"\nmax_message_bytes = 20000'
    desk.add_channel(
        channel_toml(inbox, inbound_extra=extra),
        inbound=inbox.users[SUPPORT],
        outbound=inbox.users[SUPPORT],
    )
    inbox.append(SUPPORT, make_mail("Huge", body="x" * 40000 + "\n"))
    commands.clear()
    run = poll(desk, ok=False)
    assert [c for c in commands if c in ("MOVE", "COPY", "STORE", "EXPUNGE")] == ["COPY"]
    # Dovecot's text ends in how long the command took, which varies.
    assert re.fullmatch(
        r"127\.0\.0\.1 refused moving mail that cannot be ingested to folder 'Failed' "
        r"\(\[NOPERM\] Permission denied \([0-9.+ ]+ secs\)\.\); check the folder and its "
        r"permissions, or fix move_on_failure in channel 'support'\.",
        run["error"],
    ), run["error"]
    assert (run["fetched"], run["failed"]) == (1, 1)
    assert [flags for _, flags in server_view(inbox)] == [""]  # nothing flagged \Deleted
    assert server_view(inbox, "Failed") == []


@pytest.mark.parametrize(
    ("extra", "raw", "counted", "error"),
    [
        (
            'move_on_success = "Nope"',
            make_mail("Hello"),
            ("ingested", 1),
            "Folder 'Nope' for moving processed mail does not exist on 127.0.0.1; create it "
            "or fix move_on_success in channel 'support'.",
        ),
        (
            'move_on_failure = "Nope"\nmax_message_bytes = 20000',
            make_mail("Huge", body="x" * 40000 + "\n"),
            ("failed", 1),
            "Folder 'Nope' for moving mail that cannot be ingested does not exist on "
            "127.0.0.1; create it or fix move_on_failure in channel 'support'.",
        ),
    ],
    ids=["move_on_success", "move_on_failure"],
)
def test_a_missing_move_folder_is_one_clear_sentence_and_what_was_committed_counts(
    desk: Desk, inbox, extra: str, raw: bytes, counted: tuple[str, int], error: str
) -> None:
    desk.add_channel(
        channel_toml(inbox, inbound_extra=extra),
        inbound=inbox.users[SUPPORT],
        outbound=inbox.users[SUPPORT],
    )
    inbox.append(SUPPORT, raw)
    run = poll(desk, ok=False)
    assert run["error"] == error
    assert (run["fetched"], run[counted[0]]) == (1, counted[1])
    assert [flags for _, flags in server_view(inbox)] == [""]  # left for the next poll
    again = poll(desk, ok=False)
    assert again["error"] == error
    assert again["ingested"] == 0
    conversations = 1 if counted[0] == "ingested" else 0
    assert len(desk.json("conversations")) == conversations
