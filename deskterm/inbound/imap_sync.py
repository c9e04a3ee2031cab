"""One IMAP sync of a channel: search what is unprocessed, fetch in batches, commit, flag.

Order of operations is the whole safety argument:
  1. fetch a batch of raw messages (BODY.PEEK, so \\Seen is left for humans);
  2. store raw files and apply the batch to the database in one transaction;
  3. only then flag the batch `$DeskProcessed` (or move it) on the server.
A crash before 3 leaves the mail unflagged: it is fetched again and recognised by its dedup
key. Nothing is flagged that was not committed, so nothing is lost.

The IMAP commands themselves, and their refusals as sentences, are deskterm.net.imap's; a big
first sync fetched by the worker processes is deskterm.inbound.imap_remote's.
"""

from __future__ import annotations

import imaplib
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date

from deskterm import settings
from deskterm.channels.typed import ChannelConfig
from deskterm.errors import DeskError
from deskterm.inbound import window as sync_window
from deskterm.inbound.batches import BATCH, BATCH_BYTES, FETCH_BUDGET, SMALL_MAIL, plan_batches
from deskterm.inbound.imap_remote import Source, fetched, remote_batches, warm
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.parse_guard import DEATHS, ParseGuard, set_aside
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Batches, Counts, Fetched, Outcome, Progress, unfetched
from deskterm.net import imap
from deskterm.net.imap import DeskMailBox
from deskterm.store.db import database
from deskterm.store.models import Channel

PROCESSED = "$DeskProcessed"
LOCAL_POOL_THRESHOLD = 200  # below this, parser processes are not worth their start-up
REMOTE_FETCH_THRESHOLD = 1000  # from here, worker processes fetch over their own connections
REMOTE_BATCH = 250  # per worker task: two tasks keep both cores busy
HEADER_BYTES = 65536
HEADERS_ONLY = f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"  # what names a message too large to fetch

_WHAT_MOVES = {
    "move_on_success": "moving processed mail",
    "move_on_failure": "moving mail that cannot be ingested",
}


class FolderMissing(DeskError):
    pass


@dataclass
class SyncRun:
    """One sync of a channel's mailbox: what each of its folders is synced with.

    `pool` gives the parsing processes (started on first use), `progress` hears each batch,
    `stop` ends the run after the batch in hand, and `source` lets a big first sync have the
    worker processes fetch over their own connections.
    """

    channel: Channel
    mailbox: DeskMailBox
    ingestor: Ingestor
    counts: Counts
    pool: Callable[[], Executor] | None = None
    progress: Progress | None = None
    stop: threading.Event | None = None
    source: Source | None = None

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass(frozen=True)
class FolderFetch:
    """How one folder's mail is fetched and parsed, the same for each of its batches."""

    client: imaplib.IMAP4
    folder: str
    limit: int  # the channel's max_message_bytes: larger mail is recorded, not fetched
    # The parser's (max_body_bytes, min_attachment_bytes, the channel's mapped headers).
    limits: tuple[int, int, tuple[str, ...]]
    guard: ParseGuard
    pool: Callable[[], Executor] | None = None
    source: Source | None = None


def sync(
    channel: Channel,
    mailbox: DeskMailBox,
    counts: Counts,
    *,
    pool: Callable[[], Executor] | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    source: Source | None = None,
) -> None:
    """Sync every configured folder, adding to `counts` as batches commit (kept on failure)."""
    run = SyncRun(channel, mailbox, Ingestor(channel), counts, pool, progress, stop, source)
    for folder in ChannelConfig.of(channel).inbound.folders:
        sync_folder(run, folder)
        if run.stopped:
            break


def sync_folder(run: SyncRun, folder: str) -> None:
    channel, client = run.channel, run.mailbox.client
    inbound = ChannelConfig.of(channel).inbound
    try:
        selected = imap.select(client, folder)
    except imap.FolderRefused:
        raise FolderMissing(
            f"Folder {folder!r} cannot be opened on {inbound.host} (it may have been deleted "
            f"or renamed); fix folders in the channel {channel.name!r}."
        ) from None
    uidvalidity = selected.uidvalidity
    keyword = processed_flag(selected.permanent_flags)

    state = sync_window.folder_state(channel, folder)
    if state.uidvalidity != uidvalidity:
        # The mailbox was recreated: every UID means something else now. Re-scan all of it;
        # dedup keys keep what we already have from being stored twice. The window's anchor
        # stays: mail that arrived since the first sync is still ours to fetch.
        state.uidvalidity = uidvalidity
        state.last_uid = 0
        state.save()

    exists = selected.exists
    first_big = not state.last_uid and exists is not None and exists >= REMOTE_FETCH_THRESHOLD
    if run.pool is not None and run.source is not None and first_big:
        warm(run.pool())  # a big first sync is coming: start the workers while we search
    # The window counts back from the first sync, not from today: mail that arrived while the
    # desk was not polling, for however long, is still fetched.
    since = sync_window.since(inbound, anchor=state.first_sync_on)
    criteria = search_criteria(keyword, state.last_uid, since)
    uids = imap.search(client, criteria)
    if not uids:
        return
    limit = inbound.max_message_bytes
    # The sizes batches are planned by: only of mail over SMALL_MAIL, found by the server
    # (cheaper than every message's size); the rest is counted as SMALL_MAIL each.
    big = min(limit, SMALL_MAIL)
    over = set(imap.search(client, [*criteria, "LARGER", str(big)])) & set(uids)
    sizes = imap.sizes(client, sorted(over))
    done = 0
    total = len(uids)
    if run.progress:
        run.progress(folder, 0, total)
    guard = ParseGuard(channel.id, folder, str(uidvalidity))
    limits = (*settings.current().parse_limits, run.ingestor.mapped_headers)
    fetch = FolderFetch(client, folder, limit, limits, guard, run.pool, run.source)
    batches = _batches(fetch, uids, sizes)
    try:
        for batch, items in batches:
            with database.atomic():
                outcomes = run.ingestor.apply(items, folder, epoch=str(uidvalidity))
                state.last_uid = max(state.last_uid, *batch)
                state.save()
            # Counted once committed: if marking it on the server fails, the run still says
            # what it ingested.
            run.counts.add(outcomes)
            _settle(run.mailbox, channel, folder, keyword, outcomes)
            guard.done(batch)
            done += len(batch)
            if run.progress:
                run.progress(folder, done, total)
            if run.stopped:
                guard.done(set(guard.inflight))  # stopped, not killed: nothing to set aside
                return  # work fetched ahead stays unflagged: the next run takes it
    finally:
        batches.close()


def _batches(fetch: FolderFetch, uids: list[int], sizes: dict[int, int]) -> Batches:
    """Fetched and parsed batches in UID order, with the next ones already under way.

    `sizes` are those of the messages over SMALL_MAIL. A big first sync with a pool has the
    worker processes fetch over their own connections and parse, so this process only writes
    the database and flags; otherwise this process fetches while the pool (if any) parses the
    batch before.

    Batches are cut by bytes as well as by count (plan_batches over the server's sizes), and
    the next batch is read ahead only while the raw mail held stays within FETCH_BUDGET.
    What a dead poll was parsing comes first, each mail alone, and a mail that killed the
    parser alone is kept unparsed and recorded as failed (deskterm.inbound.parse_guard).
    """
    client, limit, guard = fetch.client, fetch.limit, fetch.guard
    left, deaths = guard.left_over()
    suspects = {u for u in uids if str(u) in left and sizes.get(u, 0) <= limit}
    for uid in sorted(suspects):
        items = fetched(client, [uid])
        if deaths >= DEATHS:
            set_aside(items)  # the one that kills
        else:
            guard.parsing([uid], alone=True, deaths=deaths)
            prepare_batch(items, None, *fetch.limits)()
            guard.parsed()
        yield [uid], items
    uids = [u for u in uids if u not in suspects]
    oversize = [u for u in uids if sizes.get(u, 0) > limit]
    # Only their headers (the first 64 KB of each), so the record says who sent what; in
    # groups that stay inside the batch budget however many there are.
    group_size = max(1, BATCH_BYTES // HEADER_BYTES)
    for start in range(0, len(oversize), group_size):
        group = oversize[start : start + group_size]
        heads = {int(i.uid): i.raw for i in fetched(client, group, HEADERS_ONLY)}
        yield (
            group,
            [
                unfetched(
                    str(u), heads.get(u), f"too large ({sizes[u]} bytes; the limit is {limit})"
                )
                for u in group
            ],
        )
    wanted = [u for u in uids if sizes.get(u, 0) <= limit]
    weights = [sizes.get(u, SMALL_MAIL) for u in wanted]
    pool, source = fetch.pool, fetch.source
    if pool is not None and source is not None and len(wanted) >= REMOTE_FETCH_THRESHOLD:
        chunks = plan_batches(wanted, weights, BATCH_BYTES, REMOTE_BATCH)
        yield from remote_batches(pool(), source, fetch.folder, chunks, fetch.limits, guard)
        return
    parsers = pool() if pool is not None and len(wanted) >= LOCAL_POOL_THRESHOLD else None
    weight = dict(zip(wanted, weights, strict=True))
    pending: tuple[list[int], list[Fetched], Callable[[], None]] | None = None
    held = 0  # bytes of raw mail in `pending`
    for batch in plan_batches(wanted, weights, BATCH_BYTES, BATCH):
        size = sum(weight[u] for u in batch)
        # Read ahead only while a pool parses the batch before, and only inside the budget:
        # a big mail waits until the batch in hand is done.
        if pending is not None and (parsers is None or held + size > FETCH_BUDGET):
            yield _finished(pending)
            pending = None
        items = fetched(client, batch)
        guard.parsing(batch)
        ahead = (batch, items, prepare_batch(items, parsers, *fetch.limits))
        if pending is not None:
            yield _finished(pending)
        pending, held = ahead, size
    if pending is not None:
        yield _finished(pending)


def _finished(
    pending: tuple[list[int], list[Fetched], Callable[[], None]],
) -> tuple[list[int], list[Fetched]]:
    """A batch whose parsing is complete (waited for here)."""
    uids, items, finish = pending
    finish()
    return uids, items


def processed_flag(permanent_flags: bytes) -> str:
    """Our keyword where the server keeps custom keywords (PERMANENTFLAGS has \\*), else \\Seen."""
    if b"\\*" in permanent_flags or PROCESSED.encode() in permanent_flags:
        return PROCESSED
    return "\\Seen"


def search_criteria(keyword: str, last_uid: int, since: date | None) -> list[str]:
    """What is still to do: unflagged mail inside the age window."""
    if keyword == PROCESSED:
        criteria = ["UNKEYWORD", PROCESSED]
    else:
        # \Seen fallback: a human may read mail before we do, so new UIDs count too. "n:*"
        # always includes the highest UID (it reads as "*:n" when n is past it), so what we
        # already have is excluded by name, or the newest mail would be fetched every poll.
        new = f"UID {last_uid + 1}:*"
        if last_uid:
            new = f"({new} NOT UID 1:{last_uid})"
        criteria = ["OR", "UNSEEN", new]
    if since is not None:
        criteria += ["SINCE", sync_window.imap_date(since)]
    return criteria


def _settle(
    mailbox: DeskMailBox, channel: Channel, folder: str, keyword: str, outcomes: list[Outcome]
) -> None:
    """Mark committed mail processed on the server (flag, or move where configured).

    Runs only after the batch's commit, so whatever fails here loses nothing: the mail stays
    unmarked and the next poll fetches it again and recognises it by its dedup key.
    """
    inbound = ChannelConfig.of(channel).inbound
    where = imap.Folder(inbound.host, channel.name, folder)
    done = sorted(int(o.uid) for o in outcomes if o.kind != "failed")
    failed = sorted(int(o.uid) for o in outcomes if o.kind == "failed")
    for uids, setting, target in (
        (done, "move_on_success", inbound.move_on_success),
        (failed, "move_on_failure", inbound.move_on_failure),
    ):
        if not uids:
            continue
        if target:
            moving = imap.MoveTarget(target, setting, _WHAT_MOVES[setting])
            imap.move(mailbox.client, uids, keyword, where, moving)
        else:
            imap.store(mailbox.client, uids, f"({keyword})", where)
