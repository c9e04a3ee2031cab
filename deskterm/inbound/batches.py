"""How much raw mail a sync holds at once: batches cut by count and by bytes.

Raw mail is held whole from its fetch until it is parsed, and IMAP reads the next batch ahead
while the one before is parsed; POP3 and IMAP plan their batches here alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

BATCH = 500
# Raw mail this process holds at once: the batch being parsed and the one read ahead. Batches
# were bounded by count alone, and 500 mails of up to max_message_bytes (50 MB) each, twice,
# got the worker killed by a 500 MB memory limit on every poll (issue 10, 6).
FETCH_BUDGET = 64 * 1024 * 1024
BATCH_BYTES = FETCH_BUDGET // 2  # so that a batch and the next one read ahead fit together
# Mail up to this size is not asked for its size: BATCH of them fill no more than BATCH_BYTES.
SMALL_MAIL = BATCH_BYTES // BATCH

T = TypeVar("T")


def plan_batches(
    mails: Sequence[T], sizes: Sequence[int], budget: int, count: int
) -> list[list[T]]:
    """`mails` in order, cut into batches of at most `count` mails and `budget` bytes.

    `sizes` are the mails' sizes in the same order (IMAP's RFC822.SIZE, POP3's LIST). A mail
    larger than the budget (but within the channel's max_message_bytes) is a batch of its
    own, so it is still fetched, and no other mail is held beside it.
    """
    batches: list[list[T]] = []
    batch: list[T] = []
    total = 0
    for mail, size in zip(mails, sizes, strict=True):
        if batch and (len(batch) >= count or total + size > budget):
            batches.append(batch)
            batch, total = [], 0
        batch.append(mail)
        total += size
    if batch:
        batches.append(batch)
    return batches
