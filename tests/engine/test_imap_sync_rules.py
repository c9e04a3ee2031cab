"""The rules behind an IMAP sync that need no server: which flag, which search, which UIDs."""

from __future__ import annotations

from datetime import date

import pytest

from deskterm.channels.typed import InboundConfig
from deskterm.errors import DeskError
from deskterm.inbound import window as sync_window
from deskterm.inbound.imap_sync import PROCESSED, _settle, processed_flag, search_criteria
from deskterm.inbound.stages import Outcome
from deskterm.net.imap import uid_set
from deskterm.store.models import Channel

pytestmark = pytest.mark.without_database


def test_custom_keyword_where_the_server_keeps_it_else_seen() -> None:
    assert processed_flag(rb"(\Answered \Flagged \Deleted \Seen \Draft \*)") == PROCESSED
    assert processed_flag(rb"(\Seen $DeskProcessed)") == PROCESSED
    assert processed_flag(rb"(\Answered \Flagged \Deleted \Seen \Draft)") == "\\Seen"
    assert processed_flag(b"") == "\\Seen"


def test_search_criteria() -> None:
    assert search_criteria(PROCESSED, 10, None) == ["UNKEYWORD", PROCESSED]
    # With \Seen, mail a human already read is still found by its new UID.
    assert search_criteria("\\Seen", 10, date(2024, 1, 5)) == [
        "OR",
        "UNSEEN",
        "(UID 11:* NOT UID 1:10)",  # "11:*" alone matches the highest UID even if it is 10
        "SINCE",
        "05-Jan-2024",
    ]
    assert search_criteria("\\Seen", 0, None) == ["OR", "UNSEEN", "UID 1:*"]


def test_uid_sets_compress_runs() -> None:
    assert uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"


def window(**inbound: object) -> InboundConfig:
    """An [inbound] table with these keys (the rest: the defaults)."""
    return InboundConfig.from_settings(inbound)


def test_age_window(monkeypatch) -> None:
    inbound = window(max_age_days=5, sync_start_date="2024-02-01")
    assert sync_window.since(inbound, today=date(2024, 3, 1)) == date(2024, 2, 25)
    assert sync_window.since(inbound, today=date(2024, 2, 3)) == date(2024, 2, 1)
    monkeypatch.setenv("DESKTERM_MAX_AGE_DAYS", "0")
    assert sync_window.since(window(max_age_days=5), today=date(2024, 3, 1)) is None
    assert sync_window.imap_date(date(2024, 12, 9)) == "09-Dec-2024"


def test_age_window_counts_back_from_the_first_sync() -> None:
    inbound = window(max_age_days=5)
    first = date(2024, 2, 20)  # first synced then; not polled since
    assert sync_window.since(inbound, today=date(2024, 3, 1), anchor=first) == date(2024, 2, 15)
    # An anchor in the future (a clock set back) never narrows the window below today's.
    assert sync_window.since(inbound, today=date(2024, 3, 1), anchor=date(2024, 4, 1)) == date(
        2024, 2, 25
    )
    start = window(max_age_days=5, sync_start_date="2024-02-18")
    assert sync_window.since(start, today=date(2024, 3, 1), anchor=first) == date(2024, 2, 18)


class _Refusing:
    """An IMAP client that refuses every UID command (Dovecot cannot be made to refuse a
    STORE on a writable folder), recording what it was asked. A refused COPY is tested
    against a real Dovecot in test_imap_settle."""

    capabilities = ("IMAP4REV1",)

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    def uid(self, command: str, *args: str) -> tuple[str, list[bytes]]:
        self.sent.append((command, *args))
        return "NO", [b"[SERVERBUG] Internal error\x1b[31m"]


class _Mailbox:
    def __init__(self) -> None:
        self.client = _Refusing()


def _channel(**inbound: str) -> Channel:
    settings = {"move_on_success": "", "move_on_failure": "", "host": "mail.example", **inbound}
    return Channel(name="support", settings={"inbound": settings})


def test_a_refused_flag_is_one_sentence_naming_the_folder() -> None:
    mailbox = _Mailbox()
    with pytest.raises(DeskError) as caught:
        _settle(mailbox, _channel(), "INBOX", PROCESSED, [Outcome("7", "ingested")])  # type: ignore[arg-type]
    assert mailbox.client.sent == [("STORE", "7", "+FLAGS.SILENT", f"({PROCESSED})")]
    assert str(caught.value) == (
        "mail.example refused to mark processed mail in folder 'INBOX' ([SERVERBUG] Internal "
        "error[31m); check that the account of channel 'support' may change flags in that "
        "folder."
    )
