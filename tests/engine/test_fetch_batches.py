"""Fetch batches are bounded by bytes, not only by count (issue 10, 6).

The plan (sizes -> batches) and the IMAP fetch loop with its read-ahead, against a fake
server that records what was fetched when. The real-server measurement is in
test_fetch_memory.py.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from deskterm import settings
from deskterm.inbound import batches as planning
from deskterm.inbound import imap_sync
from deskterm.inbound.parse_guard import ParseGuard
from tests.mailfactory import make_mail

pytestmark = pytest.mark.without_database

MB = 1024 * 1024


def check_plan(sizes: list[int], budget: int, count: int) -> list[list[int]]:
    """plan_batches over mails 0..n-1; asserts what any plan must hold and returns it."""
    mails = list(range(len(sizes)))
    batches = planning.plan_batches(mails, sizes, budget, count)
    assert [m for batch in batches for m in batch] == mails  # all of them, in order
    for batch in batches:
        assert 1 <= len(batch) <= count
        weight = sum(sizes[m] for m in batch)
        assert weight <= budget or len(batch) == 1, f"{batch} holds {weight} bytes"
    return batches


def test_twenty_mails_of_21_mb_are_never_fetched_together_beyond_the_budget() -> None:
    """The case of the review: 20 x 21 MB, in one batch of 500 before."""
    budget = planning.BATCH_BYTES
    assert planning.FETCH_BUDGET <= 64 * MB
    assert 2 * budget <= planning.FETCH_BUDGET  # a batch and the one read ahead fit
    # Mail whose size is not asked (at most SMALL_MAIL each) fills no more than a batch.
    assert budget >= planning.SMALL_MAIL * planning.BATCH
    batches = check_plan([21 * MB] * 20, budget, planning.BATCH)
    assert max(len(b) for b in batches) == max(1, budget // (21 * MB))


def test_a_mail_larger_than_the_budget_is_fetched_alone() -> None:
    sizes = [1000, 2000, 40 * MB, 3000, 45 * MB, 45 * MB, 10]
    batches = check_plan(sizes, 32 * MB, 500)
    assert batches == [[0, 1], [2], [3], [4], [5], [6]]


def test_small_mail_is_still_batched_by_count() -> None:
    batches = check_plan([5000] * 1234, 32 * MB, 500)
    assert [len(b) for b in batches] == [500, 500, 234]


@pytest.mark.parametrize("seed", range(20))
def test_random_sizes_keep_every_batch_inside_the_budget(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [
        rng.choice([rng.randrange(1, 100_000), rng.randrange(1, 40 * MB), 60 * MB])
        for _ in range(rng.randrange(0, 300))
    ]
    check_plan(sizes, 32 * MB, rng.choice([1, 7, 500]))


class FakeImap:
    """Answers UID FETCH from a dict of mails, recording each fetch and what was still
    held (fetched, not yet handed out as a finished batch) when it came."""

    def __init__(self, mails: dict[int, bytes]) -> None:
        self.mails = mails
        self.handed_out: set[int] = set()
        self.fetches: list[tuple[list[int], list[int]]] = []  # (fetched, held before)

    def uid(self, command: str, uid_set: str, what: str) -> tuple[str, list[object]]:
        assert command == "FETCH"
        uids = [
            u
            for part in uid_set.split(",")
            for u in range(int(part.split(":")[0]), int(part.split(":")[-1]) + 1)
        ]
        fetched = {u for got, _ in self.fetches for u in got}
        self.fetches.append((uids, sorted(fetched - self.handed_out)))
        data: list[object] = []
        for uid in uids:
            raw = self.mails[uid]
            if "HEADER" in what:
                raw = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            data += [(f"{uid} (UID {uid} BODY[] {{{len(raw)}}}".encode(), raw), b")"]
        return "OK", data


def padded_mail(index: int, size: int) -> bytes:
    raw = make_mail(f"Mail {index}", message_id=f"<m{index}@customer.example>", body="x\n")
    raw = raw.replace(b"\n", b"\r\n")
    filler = b"".join(b"y" * 70 + b"\r\n" for _ in range(max(0, size - len(raw)) // 72))
    return raw + filler


def test_the_fetch_loop_never_reads_ahead_past_the_budget(monkeypatch) -> None:
    """With a pool parsing (so the next batch is read ahead), the raw mail fetched and not
    yet handed out never exceeds FETCH_BUDGET, except a lone mail larger than it."""
    budget, count = 40_000, 10
    monkeypatch.setattr(imap_sync, "BATCH", count)
    monkeypatch.setattr(imap_sync, "FETCH_BUDGET", budget)
    monkeypatch.setattr(imap_sync, "BATCH_BYTES", budget // 2)
    monkeypatch.setattr(imap_sync, "SMALL_MAIL", budget // 2 // count)
    monkeypatch.setattr(imap_sync, "LOCAL_POOL_THRESHOLD", 1)
    rng = random.Random(3)
    limit = 60_000
    plan = [rng.choice([500, 1500, 6000, 15_000, 30_000, 45_000]) for _ in range(60)]
    plan[10] = 70_000  # over the channel's limit: only its headers are fetched
    mails = {100 + i: padded_mail(i, size) for i, size in enumerate(plan)}
    size = {uid: len(raw) for uid, raw in mails.items()}
    # What sync_folder asks the server: the sizes of mail over SMALL_MAIL only.
    sizes = {uid: n for uid, n in size.items() if n > imap_sync.SMALL_MAIL}
    server = FakeImap(mails)
    with ThreadPoolExecutor(2) as pool:
        fetch = imap_sync.FolderFetch(
            server,  # type: ignore[arg-type]
            "INBOX",
            limit,
            (*settings.current().parse_limits, ()),
            ParseGuard(1, "INBOX", "1"),
            lambda: pool,
            None,
        )
        batches = imap_sync._batches(fetch, sorted(mails), sizes)
        seen = []
        for uids, items in batches:
            assert [int(i.uid) for i in items] == uids
            seen += uids
            server.handed_out.update(uids)
    assert sorted(seen) == sorted(mails)
    bodies = [(uids, held) for uids, held in server.fetches if 110 not in uids]
    assert any(held for _, held in bodies), "nothing was read ahead at all"
    for uids, held in bodies:
        batch = sum(size[u] for u in uids)
        assert batch <= budget // 2 or len(uids) == 1, f"batch {uids}: {batch} bytes"
        in_flight = batch + sum(size[u] for u in held)
        assert in_flight <= budget or not held, f"{uids} fetched while holding {held}"
