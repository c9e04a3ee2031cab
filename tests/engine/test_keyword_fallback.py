"""The \\Seen fallback of IMAP sync, against a real Dovecot that refuses new keywords.

Where PERMANENTFLAGS lacks \\*, deskterm cannot keep `$DeskProcessed`: it marks what it
ingested \\Seen and finds new mail as "UNSEEN or UID > last_uid" (imap_sync.search_criteria).

How a real Dovecot is made to refuse keywords (checked against Dovecot 2.3.19, Debian 12):

* Not by filling Maildir's 26 keyword letters: Dovecot keeps the 27th keyword and later ones
  in its index only, and SELECT still answers PERMANENTFLAGS (... kw01 ... kw29 \\*). In
  Dovecot 2.3 only imapc (proxying a server without \\*) sets `disallow_new_keywords`.
* By the ACL plugin: a mailbox ACL without the "w" right (here `owner lrsi`) makes SELECT
  answer exactly `* OK [PERMANENTFLAGS (\\Seen)] Flags permitted.` (still READ-WRITE), and
  `UID STORE n +FLAGS ($DeskProcessed)` answers OK but stores nothing.

The suite's shared servers (tests/servers/mailservers.py) run without the ACL plugin, so this module
starts its own Dovecot (no Postfix: mail arrives by APPEND) with `mail_plugins = acl` and a
`dovecot-acl` file on support@'s INBOX. Its `inbox` fixture overrides test_inbound's, so the
`channel` fixture and the `poll`/`flags` helpers of test_inbound drive `deskterm poll --once`
against it unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from deskterm.store import connection
from deskterm.store.models import Conversation, FolderState, Message, SkippedMail
from tests.conftest import Desk
from tests.engine import test_inbound
from tests.engine.test_inbound import SUPPORT, flags, poll
from tests.mailfactory import make_mail
from tests.servers.mailservers import MailServers, ensure_mail_user, private_dovecot

pytestmark = pytest.mark.mailserver

# test_inbound's `channel` fixture (support@'s channel on `inbox`), here on this module's inbox.
channel = test_inbound.channel

REFUSING_ACL = "owner lrsi"  # lookup, read, write \Seen, insert: no "w", so no new keywords


class AclDovecot(MailServers):
    """The suite's Dovecot with the ACL plugin on (a `dovecot-acl` file per mailbox)."""

    def _write_dovecot_conf(self, uid: int, gid: int) -> None:
        super()._write_dovecot_conf(uid, gid)
        with self.dovecot_conf.open("a") as conf:
            conf.write("mail_plugins = $mail_plugins acl\nplugin {\n  acl = vfile\n}\n")

    def set_inbox_acl(self, user: str, acl: str | None) -> None:
        """Give user's INBOX (the Maildir root) this ACL, or none (the owner may do all)."""
        local, domain = user.split("@")
        path = self.state_dir / "mail" / domain / local / "Maildir" / "dovecot-acl"
        if acl is None:
            path.unlink(missing_ok=True)
            return
        path.write_text(acl + "\n")
        os.chown(path, *ensure_mail_user())
        path.chmod(0o600)


@pytest.fixture(scope="module")
def acl_dovecot() -> Iterator[AclDovecot]:
    """A private Dovecot with the ACL plugin, for this module."""
    with private_dovecot(AclDovecot) as servers:
        yield servers


@pytest.fixture
def inbox(acl_dovecot: AclDovecot) -> AclDovecot:
    """support@'s INBOX, emptied, refusing new keywords (overrides test_inbound's `inbox`)."""
    acl_dovecot.set_inbox_acl(SUPPORT, None)  # clearing needs \Deleted and EXPUNGE rights
    acl_dovecot.clear(SUPPORT)
    acl_dovecot.set_inbox_acl(SUPPORT, REFUSING_ACL)
    return acl_dovecot


def permanent_flags(servers: MailServers, folder: str = "INBOX") -> bytes:
    with servers.imap(SUPPORT) as conn:
        conn.select(folder)
        _, [value] = conn.response("PERMANENTFLAGS")
    return value


def db_counts() -> tuple[int, int, int]:
    """(conversations, messages, skipped mails) in the desk's database."""
    connection.open_database()
    try:
        return tuple(m.select().count() for m in (Conversation, Message, SkippedMail))
    finally:
        connection.close_database()


def run_counts(outcome: dict) -> tuple[int, int, int, int]:
    run = outcome["run"]
    assert run["error"] is None, run["error"]
    return run["fetched"], run["ingested"], run["skipped"], run["failed"]


def test_the_inbox_refuses_our_keyword(inbox: AclDovecot) -> None:
    """The premise of this module: no \\* in PERMANENTFLAGS, and our keyword is not stored."""
    uid = inbox.append(SUPPORT, make_mail("Probe"))
    assert permanent_flags(inbox) == b"(\\Seen)"
    with inbox.imap(SUPPORT) as conn:
        conn.select("INBOX")
        typ, _ = conn.uid("STORE", str(uid), "+FLAGS", "($DeskProcessed)")
        assert typ == "OK"  # accepted, silently dropped
    [line] = flags(inbox)
    assert "$DeskProcessed" not in line and "\\Seen" not in line


def test_refusing_inbox_is_ingested_and_marked_seen_not_with_the_keyword(
    channel: Desk, inbox: AclDovecot
) -> None:
    for i in range(3):
        inbox.append(SUPPORT, make_mail(f"Question {i}"))
    assert run_counts(poll(channel)) == (3, 3, 0, 0)
    assert sorted(r["subject"] for r in channel.json("conversations")) == [
        "Question 0",
        "Question 1",
        "Question 2",
    ]
    lines = flags(inbox)
    assert len(lines) == 3
    for line in lines:
        assert "\\Seen" in line and "$DeskProcessed" not in line, line
    assert db_counts() == (3, 3, 0)


def test_a_second_poll_of_a_refusing_inbox_fetches_and_stores_nothing(
    channel: Desk, inbox: AclDovecot
) -> None:
    # In IMAP "n:*" is the same set as "*:n": with everything ingested, "UID last_uid+1:*"
    # still matches the highest UID, which was fetched again every poll and recorded as one
    # more "duplicate" each time (found by this test; search_criteria now excludes 1:last_uid).
    for i in range(3):
        inbox.append(SUPPORT, make_mail(f"Question {i}"))
    poll(channel)
    assert run_counts(poll(channel)) == (0, 0, 0, 0)
    assert run_counts(poll(channel)) == (0, 0, 0, 0)
    assert channel.json("skipped") == []
    assert db_counts() == (3, 3, 0)


def test_mail_read_by_a_human_before_the_first_poll_is_still_ingested(
    channel: Desk, inbox: AclDovecot
) -> None:
    inbox.append(SUPPORT, make_mail("Already read"), flags=["\\Seen"])
    inbox.append(SUPPORT, make_mail("Not read yet"))
    assert run_counts(poll(channel)) == (2, 2, 0, 0)
    assert sorted(r["subject"] for r in channel.json("conversations")) == [
        "Already read",
        "Not read yet",
    ]
    assert db_counts() == (2, 2, 0)


def test_mail_arriving_after_a_poll_is_ingested_read_or_not(
    channel: Desk, inbox: AclDovecot
) -> None:
    inbox.append(SUPPORT, make_mail("First"), flags=["\\Seen"])
    assert run_counts(poll(channel)) == (1, 1, 0, 0)
    later_unread = inbox.append(SUPPORT, make_mail("Later, unread"))
    later_read = inbox.append(SUPPORT, make_mail("Later, read by a human"), flags=["\\Seen"])
    assert run_counts(poll(channel)) == (2, 2, 0, 0)
    assert sorted(r["subject"] for r in channel.json("conversations")) == [
        "First",
        "Later, read by a human",
        "Later, unread",
    ]
    assert db_counts() == (3, 3, 0)
    connection.open_database()
    try:
        [state] = FolderState.select()
        assert state.last_uid == max(later_unread, later_read)
    finally:
        connection.close_database()
