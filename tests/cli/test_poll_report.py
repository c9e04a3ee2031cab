"""`deskterm poll` prints one line per worker event: what a server says inside it (an SMTP
reply, an IMAP error) cannot add lines that look like the worker's own."""

from __future__ import annotations

import pytest

from deskterm.cli.inbound import ProgressReport
from deskterm.engine.events import DeliveryResult, IdleChanged, RunFinished
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
