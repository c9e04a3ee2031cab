"""Time spent (issue 17) and the status history the reports read, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from deskterm.desk import status_history, time_spent, triage
from deskterm.desk.undo import History
from deskterm.errors import ConfigError, NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.outbound import replies
from deskterm.store.models import Agent, Channel, TimeEntry
from tests.engine.test_notes import channel, fetched, follow_up, printer, question  # noqa: F401

# The fixtures `channel` (the draft channel on SQLite or PostgreSQL) and `printer` (one
# conversation) are test_notes.py's.


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("15m", 900),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1.5h", 5400),
        ("90s", 90),
        ("1:30", 5400),
        ("45", 2700),
        ("2H", 7200),
    ],
)
def test_durations_as_agents_type_them(typed: str, seconds: int) -> None:
    assert time_spent.parse_duration(typed) == seconds


@pytest.mark.parametrize("typed", ["", "15x", "m", "0m", "25h", "1:75", "-5m"])
def test_what_is_not_a_duration_is_refused_with_the_way_to_write_one(typed: str) -> None:
    with pytest.raises(ConfigError, match=r"15m|24 hours|no time"):
        time_spent.parse_duration(typed)


def test_the_stopwatch_counts_keys_and_not_idle_gaps() -> None:
    watch = time_spent.Stopwatch(started=0.0, idle_after=180)
    watch.activity(60)
    watch.activity(100)
    assert watch.total(150) == 150  # the running gap counts while it is short
    assert watch.total(400) == 100  # idle: the gap since the last key is not counted
    watch.activity(500)  # back after a long gap: that gap is lost
    watch.activity(530)
    assert watch.total(530) == 130
    watch.pause(540)  # another screen took the keyboard
    assert watch.total(600) == 140
    watch.activity(700)  # the screen has it again: the paused time is not counted
    assert watch.total(700) == 140


def test_time_is_logged_listed_and_removed(
    printer: int,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Agent.create(handle="kim", name="Kim Lee", email="kim@example.com")
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    entry = time_spent.add(printer, 900, note="called\x1b[2J her")
    assert (
        entry["agent"] == "kim" and entry["spent"] == "15m" and entry["note"] == "called[2J her"
    )  # ESC dropped
    stretch = time_spent.save_stretch(
        None, printer, 30, agent="kim", started_at=datetime(2025, 3, 3, 10)
    )
    assert (
        time_spent.save_stretch(stretch, printer, 65, agent="kim", started_at=datetime.now())
        == stretch
    )  # the clock adds what it counted since its last write
    assert time_spent.total(printer) == 995
    assert [e["source"] for e in time_spent.entries(printer)] == ["clock", "manual"]
    time_spent.remove(int(entry["id"]))
    assert time_spent.total(printer) == 95
    with pytest.raises(NotFound, match="time list"):
        time_spent.remove(int(entry["id"]))
    with pytest.raises(NotFound):
        time_spent.add(printer + 1000, 60)
    assert time_spent.save_stretch(None, printer, 0, agent=None, started_at=datetime.now()) is None


def test_an_entry_is_corrected_with_the_checks_of_adding_one(
    printer: int,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Agent.create(handle="kim", name="Kim Lee", email="kim@example.com")
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    entry = int(time_spent.add(printer, 900, note="call")["id"])
    edited = time_spent.edit(entry, seconds=1800, note="a long\x1b[2J\ncall")
    shown = (edited["seconds"], edited["note"], edited["source"])
    assert shown == (1800, "a long[2J call", "manual")
    moved = time_spent.edit(entry, started_at=datetime(2025, 3, 4, 9))
    assert (moved["seconds"], moved["started_at"]) == (1800, "2025-03-04T09:00:00+00:00")
    for seconds in (0, time_spent.MAX_ENTRY + 1):
        with pytest.raises(ConfigError, match="24 hours"):
            time_spent.edit(entry, seconds=seconds)
    with pytest.raises(ConfigError, match="500 characters"):
        time_spent.edit(entry, note="x" * 501)
    assert time_spent.get(entry)["seconds"] == 1800  # a refused edit changed nothing
    with pytest.raises(NotFound, match="deskterm time list ID"):
        time_spent.edit(entry + 1000, seconds=60)


def test_a_measured_entry_corrected_while_its_thread_is_open_keeps_the_correction(
    printer: int,  # noqa: F811
) -> None:
    """An agent left the thread open over lunch: they cut the clock's entry to what they
    really worked, and the clock, still running, counts on from there."""
    stretch = time_spent.save_stretch(None, printer, 7200, agent=None, started_at=datetime.now())
    assert stretch is not None
    assert time_spent.edit(stretch, seconds=600)["source"] == "clock"
    time_spent.save_stretch(stretch, printer, 30, agent=None, started_at=datetime.now())
    assert time_spent.total(printer) == 630
    time_spent.remove(stretch)  # removed while open: it stays removed, the clock goes on anew
    time_spent.save_stretch(stretch, printer, 20, agent=None, started_at=datetime.now())
    assert [e["seconds"] for e in time_spent.entries(printer)] == [20]


def test_only_the_entry_s_agent_or_an_admin_changes_it(
    printer: int,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for handle, admin in (("kim", False), ("sam", False), ("ada", True)):
        Agent.create(handle=handle, name=handle, email=f"{handle}@example.com", admin=admin)
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    kims = int(time_spent.add(printer, 900)["id"])
    nobodys = int(time_spent.add(printer, 60, agent=None)["id"])
    TimeEntry.update(agent=None).where(TimeEntry.id == nobodys).execute()
    assert time_spent.edit(kims, seconds=1200)["seconds"] == 1200  # her own
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    for change in (
        lambda: time_spent.edit(kims, seconds=60),
        lambda: time_spent.remove(kims),
        lambda: time_spent.edit(nobodys, note="mine now"),
    ):
        with pytest.raises(ConfigError, match="only they or an admin"):
            change()
    assert time_spent.total(printer) == 1260
    monkeypatch.setenv("DESKTERM_AGENT", "ada")  # an admin corrects anyone's
    time_spent.edit(kims, seconds=300)
    time_spent.remove(nobodys)
    assert time_spent.total(printer) == 300


def test_every_status_change_is_kept_with_who_made_it(
    channel: Channel,  # noqa: F811
    printer: int,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Agent.create(handle="sam", name="Sam Carter", email="sam@example.com")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    history = History()
    triage.set_status(printer, "pending", history=history)
    triage.set_status(printer, "pending")  # no change: nothing kept
    triage.undo(history)  # back to open: a change like any other
    triage.set_status(printer, "resolved")
    Ingestor(channel).apply(fetched(follow_up()), "INBOX")  # the customer answers: reopened
    replies.queue_reply(printer, "On it.", status="resolved")
    kept = [(c["old"], c["new"], c["agent"]) for c in status_history.of_conversation(printer)]
    assert kept == [
        ("open", "pending", "sam"),
        ("pending", "open", "sam"),
        ("open", "resolved", "sam"),
        ("resolved", "open", None),
        ("open", "resolved", "sam"),
    ]


def test_question_helper_is_stable() -> None:
    assert b"Printer on fire" in question()
