"""`deskterm poll` prints one line per worker event: what a server says inside it (an SMTP
reply, an IMAP error) cannot add lines that look like the worker's own; off a terminal each
line for journald starts with its syslog level (and only such a line)."""

from __future__ import annotations

import os
import pty

import pytest

from deskterm.cli.inbound import ProgressReport
from deskterm.engine.events import (
    ChannelSkipped,
    DeliveryResult,
    IdleChanged,
    Notice,
    RunFinished,
    SyncProgress,
)
from deskterm.store.models import JobRun

FORGED = "550 no\r\nsupport: fetched 9, ingested 9, skipped 0, failed 0; ok\u2028\x1b[2Jmore"


@pytest.mark.parametrize(
    "event",
    [
        DeliveryResult(7, "failed", FORGED),
        RunFinished("support", JobRun(fetched=1, ingested=0, skipped=0, failed=0, error=FORGED)),
        IdleChanged("support", f"IDLE lost: {FORGED}"),
    ],
)
def test_a_server_reply_stays_on_its_event_line(
    event: object, capsys: pytest.CaptureFixture[str]
) -> None:
    ProgressReport(live=False)(event)  # type: ignore[arg-type]
    printed = capsys.readouterr().err
    assert printed.count("\n") == 1 and printed.endswith("\n")
    assert "\x1b" not in printed and "\r" not in printed and "\u2028" not in printed
    assert "550 no support: fetched 9" in printed


OK_RUN = JobRun(fetched=3, ingested=3, skipped=0, failed=0, error=None)
FAILED_RUN = JobRun(fetched=0, ingested=0, skipped=0, failed=0, error="IMAP login failed")


@pytest.mark.parametrize(
    ("event", "level"),
    [
        (SyncProgress("support", "INBOX", 0, 10), 6),
        (RunFinished("support", OK_RUN), 6),
        (RunFinished("support", FAILED_RUN), 3),
        (DeliveryResult(7, "sent", "250 ok"), 6),
        (DeliveryResult(7, "queued", "451 try later"), 4),
        (DeliveryResult(7, "failed", "550 no such user"), 3),
        (IdleChanged("support", "IDLE connected"), 5),
        (ChannelSkipped("support", "paused"), 5),
        (Notice("support", "notification failed: refused"), 4),
    ],
)
def test_to_the_journal_each_line_carries_its_syslog_level(
    event: object, level: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """journald files a line by its `<N>` prefix (sd-daemon(3)); no redraws off a terminal."""
    ProgressReport(live=False, levels=True)(event)  # type: ignore[arg-type]
    printed = capsys.readouterr().err
    assert printed.startswith((f"<{level}>support", f"<{level}>#7: "))
    assert printed.count("\n") == 1 and "\r" not in printed and "\x1b" not in printed


def test_a_log_file_or_cron_mail_gets_plain_lines(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Off a terminal but not to journald (`deskterm poll 2>>poll.log`, cron): no `<N>`."""
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    with open(tmp_path / "poll.log", "w") as log:
        report = ProgressReport.for_stream(log)
    assert not report.live and not report.levels
    report(RunFinished("support", FAILED_RUN))
    assert (
        capsys.readouterr().err
        == "support: fetched 0, ingested 0, skipped 0, failed 0; error: IMAP login failed\n"
    )


def test_the_journals_stream_gets_levels(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "journal", "w") as journal:
        info = os.fstat(journal.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        report = ProgressReport.for_stream(journal)
    assert report.levels and not report.live


def test_on_a_terminal_lines_stay_as_they_were(capsys: pytest.CaptureFixture[str]) -> None:
    report = ProgressReport(live=True)
    report(RunFinished("support", OK_RUN))
    # The live line is erased first (our own \r and erase), then the line, without a level.
    assert capsys.readouterr().err.endswith(
        "\rsupport: fetched 3, ingested 3, skipped 0, failed 0; ok\n"
    )
    report(SyncProgress("support", "INBOX", 5, 10))
    assert capsys.readouterr().err.startswith("\rsupport INBOX: 5/10")


def test_a_terminal_is_live_and_a_pipe_or_the_journal_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    main, other = pty.openpty()
    read, write = os.pipe()
    with os.fdopen(other, "w") as terminal, os.fdopen(write, "w") as pipe:
        assert ProgressReport.on_terminal(terminal)
        assert not ProgressReport.on_terminal(pipe)
        info = os.fstat(terminal.fileno())
        # systemd names the stream it gave us; whatever isatty says, that is the journal.
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        assert not ProgressReport.on_terminal(terminal)
    os.close(main)
    os.close(read)
