"""The rules behind an IMAP sync that need no server: which flag, which search, which UIDs."""

from __future__ import annotations

from datetime import date

from deskterm import sync_window
from deskterm.imap_sync import PROCESSED, _uid_set, processed_flag, search_criteria


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
    assert _uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert _uid_set([5]) == "5"


def test_age_window(monkeypatch) -> None:
    inbound = {"max_age_days": 5, "sync_start_date": "2024-02-01"}
    assert sync_window.since(inbound, today=date(2024, 3, 1)) == date(2024, 2, 25)
    assert sync_window.since(inbound, today=date(2024, 2, 3)) == date(2024, 2, 1)
    monkeypatch.setenv("DESKTERM_MAX_AGE_DAYS", "0")
    assert sync_window.since({"max_age_days": 5}, today=date(2024, 3, 1)) is None
    assert sync_window.imap_date(date(2024, 12, 9)) == "09-Dec-2024"
