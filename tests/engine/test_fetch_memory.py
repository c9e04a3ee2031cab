"""A poll of big mail stays within a memory bound (issue 10, 6).

Fetch batches were 500 mails of up to 50 MB each, with the next batch read ahead while the
previous one was parsed: twenty mails of 21 MB got `deskterm poll` killed on every run under
a 500 MB limit, so that mail never arrived. Batches are now bounded by bytes (the server's
RFC822.SIZE, POP3's LIST), big mail is fetched alone, and nothing is read ahead past the
budget. These tests measure the real command's processes against the real Dovecot.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskterm.store import connection
from deskterm.store.models import Message
from tests.conftest import Desk, channel_toml
from tests.servers.proctree import descendants, status_kb

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
COUNT = 20
ATTACHMENT = 15 * 1024 * 1024  # base64 makes each mail about 20 MB
# What the whole process tree of `deskterm poll` may hold at once. The interpreter with the
# engine imported takes about 60 MB; one batch of raw mail (FETCH_BUDGET) and the parse of
# one 20 MB mail fit beside it. Before the bound, the same poll held all 400 MB at once.
BOUND = 300 * 1024 * 1024


def big_mail(index: int) -> bytes:
    """A ~20 MB mail: a short text and a 15 MB attachment, different in every mail (so no
    dedup key or stored attachment is shared). Built by hand: EmailMessage is slow at it."""
    data = random.Random(index).randbytes(ATTACHMENT)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (
        f"From: Jane Doe <customer{index}@desk.test>\r\n"
        f"To: {SUPPORT}\r\n"
        f"Subject: Scan {index}\r\n"
        f"Date: Mon, 02 Mar 2026 10:{index:02d}:00 +0000\r\n"
        f"Message-ID: <scan{index}@customer.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n"
        "--b\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Here is scan {index}.\r\n"
        "--b\r\n"
        f'Content-Type: application/octet-stream; name="scan{index}.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="scan{index}.bin"\r\n'
        "\r\n"
    ).encode()
    return head + encoded + b"--b--\r\n"


def run_measured(home: Path, timeout: float = 600) -> tuple[int, int, int]:
    """Run `deskterm poll --once` for the desk; (exit code, peak RSS of its whole process
    tree, peak RSS of its largest single process), in bytes, sampled every 20 ms.

    The tree's sum is what a memory cgroup (a systemd unit, a container) charges; each
    process's own high-water mark (VmHWM) catches a peak shorter than the sampling period.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli.main", "poll", "--once"],
        env={**os.environ, "DESKTERM_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tree_peak = single_peak = 0
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        assert time.monotonic() < deadline, "the poll did not finish"
        pids = [process.pid, *(p.pid for p in descendants(process.pid))]
        tree_peak = max(tree_peak, sum(status_kb(p, "VmRSS") for p in pids))
        single_peak = max(single_peak, *(status_kb(p, "VmHWM") for p in pids))
        time.sleep(0.02)
    return process.returncode, tree_peak * 1024, single_peak * 1024


@pytest.fixture
def big_inbox(mail_servers):
    """support@'s INBOX holding COUNT mails of about 20 MB each."""
    mail_servers.clear(SUPPORT)
    with mail_servers.imap(SUPPORT) as conn:
        for index in range(COUNT):
            typ, _ = conn.append("INBOX", None, None, big_mail(index))
            assert typ == "OK"
    yield mail_servers
    mail_servers.clear(SUPPORT)


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_polling_twenty_mails_of_20_mb_stays_under_300_mb(
    desk: Desk, big_inbox, protocol: str
) -> None:
    size = len(big_mail(0))
    assert size > 20 * 1024 * 1024
    desk.add_channel(
        channel_toml(big_inbox, protocol=protocol),
        inbound=big_inbox.users[SUPPORT],
        outbound=big_inbox.users[SUPPORT],
    )
    code, tree_peak, single_peak = run_measured(desk.home)
    print(f"{protocol}: tree peak {tree_peak >> 20} MB, largest process {single_peak >> 20} MB")
    assert code == 0
    connection.open_database()
    subjects = sorted(m.subject for m in Message.select())
    connection.close_database()
    assert subjects == sorted(f"Scan {i}" for i in range(COUNT))
    assert tree_peak < BOUND, f"the poll's processes held {tree_peak >> 20} MB at once"
    assert single_peak < BOUND, f"one of the poll's processes reached {single_peak >> 20} MB"
