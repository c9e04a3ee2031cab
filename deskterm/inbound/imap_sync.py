"""One IMAP sync of a channel: search what is unprocessed, fetch in batches, commit, flag.

Order of operations is the whole safety argument:
  1. fetch a batch of raw messages (BODY.PEEK, so \\Seen is left for humans);
  2. store raw files and apply the batch to the database in one transaction;
  3. only then flag the batch `$DeskProcessed` (or move it) on the server.
A crash before 3 leaves the mail unflagged: it is fetched again and recognised by its dedup
key. Nothing is flagged that was not committed, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from imap_tools.utils import encode_folder

from deskterm import paths, settings
from deskterm.errors import DeskError
from deskterm.inbound import window as sync_window
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.parse_guard import DEATHS, KILLED, ParseGuard
from deskterm.inbound.prepare import prepare, prepare_batch
from deskterm.inbound.stages import Counts, Fetched, Outcome, Progress, unfetched
from deskterm.net import imap as imap_conn
from deskterm.net.imap import DeskMailBox
from deskterm.net.tls import Endpoint
from deskterm.sanitize import one_line
from deskterm.store import blobs
from deskterm.store.db import database
from deskterm.store.models import Channel, FolderState

PROCESSED = "$DeskProcessed"
BATCH = 500
# Raw mail this process holds at once: the batch being parsed and the one read ahead. Batches
# were bounded by count alone, and 500 mails of up to max_message_bytes (50 MB) each, twice,
# got the worker killed by a 500 MB memory limit on every poll (issue 10, 6).
FETCH_BUDGET = 64 * 1024 * 1024
BATCH_BYTES = FETCH_BUDGET // 2  # so that a batch and the next one read ahead fit together
# Mail up to this size is not asked for its size: BATCH of them fill no more than BATCH_BYTES.
SMALL_MAIL = BATCH_BYTES // BATCH
LOCAL_POOL_THRESHOLD = 200  # below this, parser processes are not worth their start-up
REMOTE_FETCH_THRESHOLD = 1000  # from here, worker processes fetch over their own connections
REMOTE_BATCH = 250  # per worker task: two tasks keep both cores busy
REMOTE_AHEAD = 4  # tasks in flight while this process commits
HEADER_BYTES = 65536
HEADERS_ONLY = f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"  # what names a message too large to fetch

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")

T = TypeVar("T")


class FolderMissing(DeskError):
    pass


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
    ingestor = Ingestor(channel)
    for folder in channel.settings["inbound"]["folders"]:
        sync_folder(channel, mailbox, folder, ingestor, counts, pool, progress, stop, source)
        if stop is not None and stop.is_set():
            break


def sync_folder(
    channel: Channel,
    mailbox: DeskMailBox,
    folder: str,
    ingestor: Ingestor,
    counts: Counts,
    pool: Callable[[], Executor] | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    source: Source | None = None,
) -> None:
    client = mailbox.client
    inbound = channel.settings["inbound"]
    typ, selected = client.select(_quote(folder))
    if typ != "OK":
        raise FolderMissing(
            f"Folder {folder!r} cannot be opened on {inbound['host']} (it may have been deleted "
            f"or renamed); fix folders in the channel {channel.name!r}."
        )
    uidvalidity = int(_response(client, "UIDVALIDITY") or 0)
    keyword = processed_flag(_response(client, "PERMANENTFLAGS") or b"")

    state = folder_state(channel, folder)
    if state.uidvalidity != uidvalidity:
        # The mailbox was recreated: every UID means something else now. Re-scan all of it;
        # dedup keys keep what we already have from being stored twice. The window's anchor
        # stays: mail that arrived since the first sync is still ours to fetch.
        state.uidvalidity = uidvalidity
        state.last_uid = 0
        state.save()

    exists = selected[0] if selected and isinstance(selected[0], bytes) else b""
    first_big = not state.last_uid and exists.isdigit() and int(exists) >= REMOTE_FETCH_THRESHOLD
    if pool is not None and source is not None and first_big:
        _warm(pool())  # a big first sync is coming: start the workers while we search
    # The window counts back from the first sync, not from today: mail that arrived while the
    # desk was not polling, for however long, is still fetched.
    since = sync_window.since(inbound, anchor=state.first_sync_on)
    criteria = search_criteria(keyword, state.last_uid, since)
    uids = _search(client, criteria)
    if not uids:
        return
    limit = inbound["max_message_bytes"]
    # The sizes batches are planned by: only of mail over SMALL_MAIL, found by the server
    # (cheaper than every message's size); the rest is counted as SMALL_MAIL each.
    big = min(limit, SMALL_MAIL)
    over = set(_search(client, [*criteria, "LARGER", str(big)])) & set(uids)
    sizes = _sizes(client, sorted(over))
    done = 0
    total = len(uids)
    if progress:
        progress(folder, 0, total)
    guard = ParseGuard(channel.id, folder, str(uidvalidity))
    batches = _batches(
        client, folder, uids, sizes, limit, pool, source, settings.current().parse_limits, guard
    )
    try:
        for batch, items in batches:
            with database.atomic():
                outcomes = ingestor.apply(items, folder, epoch=str(uidvalidity))
                state.last_uid = max(state.last_uid, *batch)
                state.save()
            # Counted once committed: if marking it on the server fails, the run still says
            # what it ingested.
            counts.add(outcomes)
            _settle(mailbox, channel, folder, keyword, outcomes)
            guard.done(batch)
            done += len(batch)
            if progress:
                progress(folder, done, total)
            if stop is not None and stop.is_set():
                guard.done(set(guard.inflight))  # stopped, not killed: nothing to set aside
                return  # work fetched ahead stays unflagged: the next run takes it
    finally:
        batches.close()


Batches = Iterator[tuple[list[int], list[Fetched]]]


def _batches(
    client: imaplib.IMAP4,
    folder: str,
    uids: list[int],
    sizes: dict[int, int],  # of the messages over the limit
    limit: int,
    pool: Callable[[], Executor] | None,
    source: Source | None,
    limits: tuple[int, int],
    guard: ParseGuard,
) -> Batches:
    """Fetched and parsed batches in UID order, with the next ones already under way.

    A big first sync with a pool has the worker processes fetch over their own connections
    and parse, so this process only writes the database and flags; otherwise this process
    fetches while the pool (if any) parses the batch before.

    Batches are cut by bytes as well as by count (plan_batches over the server's sizes), and
    the next batch is read ahead only while the raw mail held stays within FETCH_BUDGET.
    What a dead poll was parsing comes first, each mail alone, and a mail that killed the
    parser alone is kept unparsed and recorded as failed (deskterm.inbound.parse_guard).
    """
    left, deaths = guard.left_over()
    suspects = {u for u in uids if str(u) in left and sizes.get(u, 0) <= limit}
    for uid in sorted(suspects):
        items = _fetch(client, [uid])
        if deaths >= DEATHS:
            for item in items:  # the one that kills: kept whole, never parsed again
                item.raw_path, item.raw, item.error = blobs.store_raw(item.raw), b"", KILLED
        else:
            guard.parsing([uid], alone=True, deaths=deaths)
            prepare_batch(items, None, *limits)()
            guard.parsed()
        yield [uid], items
    uids = [u for u in uids if u not in suspects]
    oversize = [u for u in uids if sizes.get(u, 0) > limit]
    # Only their headers (the first 64 KB of each), so the record says who sent what; in
    # groups that stay inside the batch budget however many there are.
    for group in _chunks(oversize, max(1, BATCH_BYTES // HEADER_BYTES)):
        heads = {int(i.uid): i.raw for i in _fetch(client, group, HEADERS_ONLY)}
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
    if pool is not None and source is not None and len(wanted) >= REMOTE_FETCH_THRESHOLD:
        chunks = plan_batches(wanted, weights, BATCH_BYTES, REMOTE_BATCH)
        yield from _remote_batches(pool(), source, folder, chunks, limits, guard)
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
        items = _fetch(client, batch)
        guard.parsing(batch)
        ahead = (batch, items, prepare_batch(items, parsers, *limits))
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


def _warm(pool: Executor) -> None:
    """Have the pool start its processes now, beside this thread's searching: they start on
    demand, one per waiting task, and the first start waits for the fork server (0.15 s)."""

    def start() -> None:
        with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile
            for _ in range(2):
                pool.submit(os.getpid)

    threading.Thread(target=start, name="deskterm-pool-start", daemon=True).start()


def _remote_batches(
    pool: Executor,
    source: Source,
    folder: str,
    planned: list[list[int]],
    limits: tuple[int, int],
    guard: ParseGuard,
) -> Batches:
    """Batches each fetched and parsed by a worker process over its own connection; each
    worker holds one planned batch (within BATCH_BYTES) of raw mail at a time."""
    dirs = (paths.mail_dir(), paths.attachments_dir())
    chunks = iter(planned)
    inflight: deque[tuple[list[int], Future[list[Fetched]]]] = deque()

    def submit() -> None:
        chunk = next(chunks, None)
        if chunk is not None:
            guard.parsing(chunk)
            job = (source, folder, chunk, *limits, *dirs)
            inflight.append((chunk, pool.submit(fetch_and_prepare, job)))

    try:
        for _ in range(REMOTE_AHEAD):
            submit()
        while inflight:
            chunk, future = inflight.popleft()
            items = future.result()
            submit()
            yield chunk, items
    finally:
        for _, future in inflight:
            future.cancel()


@dataclass(frozen=True)
class Source:
    """How a worker process reaches the mailbox itself (the secret travels only in the pipe)."""

    endpoint: Endpoint
    username: str
    password: str = field(repr=False)


_worker_mailboxes: dict[tuple[str, int, str], tuple[DeskMailBox, list[str]]] = {}


def fetch_and_prepare(
    job: tuple[Source, str, list[int], int, int, Path, Path],
) -> list[Fetched]:
    """Runs in a worker process: fetch a batch over this process's own connection, parse it
    and store its files. A dropped connection is opened again once."""
    source, folder, uids, max_body, min_att, mail_dir, attachments_dir = job
    for attempt in (1, 2):
        mailbox = _worker_mailbox(source, folder)
        try:
            items = _fetch(mailbox.client, uids)
            break
        except (OSError, imaplib.IMAP4.abort):
            _worker_mailboxes.pop(_key(source), None)
            if attempt == 2:
                raise
    prepared = prepare(([i.raw for i in items], max_body, min_att, mail_dir, attachments_dir))
    for item, (mail, ref, stored) in zip(items, prepared, strict=True):
        item.raw, item.mail, item.raw_path, item.attachments = b"", mail, ref, stored
    return items


def _key(source: Source) -> tuple[str, int, str]:
    return (source.endpoint.host, source.endpoint.port, source.username)


def _worker_mailbox(source: Source, folder: str) -> DeskMailBox:
    entry = _worker_mailboxes.get(_key(source))
    if entry is None:
        mailbox = imap_conn.connect(source.endpoint)
        imap_conn.login(mailbox, source.endpoint, source.username, source.password)
        entry = (mailbox, [""])
        _worker_mailboxes[_key(source)] = entry
    mailbox, selected = entry
    if selected[0] != folder:
        typ, data = mailbox.client.select(_quote(folder), readonly=True)
        if typ != "OK":
            raise DeskError(f"Folder {folder!r} cannot be opened ({_server_text(data)}).")
        selected[0] = folder
    return mailbox


def folder_state(channel: Channel, folder: str) -> FolderState:
    """A folder's sync state; `first_sync_on` (the age window's anchor) is set on first use."""
    state, _ = FolderState.get_or_create(
        channel=channel, folder=folder, defaults={"first_sync_on": date.today()}
    )
    if state.first_sync_on is None:  # the column is nullable: a row emptied by hand
        state.first_sync_on = date.today()
        state.save()
    return state


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


def _search(client: imaplib.IMAP4, criteria: list[str]) -> list[int]:
    typ, data = client.uid("SEARCH", *criteria)
    if typ != "OK":
        raise DeskError(f"The IMAP server refused to search the folder ({_server_text(data)}).")
    return sorted({int(x) for x in (data[0] or b"").split()})


def _sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for chunk in _chunks(uids, 5000):
        typ, data = client.uid("FETCH", _uid_set(chunk), "(RFC822.SIZE)")
        if typ != "OK":
            said = _server_text(data)
            raise DeskError(f"The IMAP server refused to list message sizes ({said}).")
        for line in data:
            head = line[0] if isinstance(line, tuple) else line
            uid, size = _UID.search(head or b""), _SIZE.search(head or b"")
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch(client: imaplib.IMAP4, uids: list[int], part: str = "BODY.PEEK[]") -> list[Fetched]:
    """One round trip for the whole batch; messages deleted meanwhile are simply absent."""
    if not uids:
        return []
    typ, data = client.uid("FETCH", _uid_set(uids), f"(UID {part})")
    if typ != "OK":
        raise DeskError(f"The IMAP server refused to fetch messages ({_server_text(data)}).")
    items: list[Fetched] = []
    for index, part in enumerate(data):
        if not isinstance(part, tuple):
            continue
        uid = _UID.search(part[0])
        if uid is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            uid = _UID.search(data[index + 1])  # some servers send UID after the literal
        if uid is not None:
            items.append(Fetched(uid.group(1).decode(), part[1], None))
    return items


def _settle(
    mailbox: DeskMailBox, channel: Channel, folder: str, keyword: str, outcomes: list[Outcome]
) -> None:
    """Mark committed mail processed on the server (flag, or move where configured).

    Runs only after the batch's commit, so whatever fails here loses nothing: the mail stays
    unmarked and the next poll fetches it again and recognises it by its dedup key.
    """
    inbound = channel.settings["inbound"]
    done = sorted(int(o.uid) for o in outcomes if o.kind != "failed")
    failed = sorted(int(o.uid) for o in outcomes if o.kind == "failed")
    for uids, setting in ((done, "move_on_success"), (failed, "move_on_failure")):
        if not uids:
            continue
        target = inbound[setting]
        if target:
            _move(mailbox.client, uids, keyword, _MoveTarget(channel, folder, target, setting))
        else:
            _store(mailbox.client, uids, f"({keyword})", channel, folder)


@dataclass(frozen=True)
class _MoveTarget:
    """Where `_move` takes mail, and what its errors name."""

    channel: Channel
    source: str
    folder: str
    setting: str  # move_on_success | move_on_failure


_WHAT_MOVES = {
    "move_on_success": "moving processed mail",
    "move_on_failure": "moving mail that cannot be ingested",
}


def _move(client: imaplib.IMAP4, uids: list[int], keyword: str, target: _MoveTarget) -> None:
    """Move exactly these messages, touching nothing else in the folder.

    UID MOVE where offered. Otherwise COPY, then \\Deleted (with our keyword, so an
    interrupted move is not fetched again), then UID EXPUNGE of just these UIDs (UIDPLUS). A
    plain EXPUNGE would also remove mail a person marked \\Deleted without expunging it, so
    without UIDPLUS our \\Deleted originals stay for the person's client to expunge.
    """
    uid_set = _uid_set(uids)
    capabilities = client.capabilities
    if "MOVE" in capabilities:
        typ, data = client.uid("MOVE", uid_set, _quote(target.folder))
        _check_moved(typ, data, target)
        return
    typ, data = client.uid("COPY", uid_set, _quote(target.folder))
    _check_moved(typ, data, target)
    _store(client, uids, f"(\\Deleted {keyword})", target.channel, target.source)
    if "UIDPLUS" in capabilities:
        typ, data = client.uid("EXPUNGE", uid_set)
        if typ != "OK":
            host = target.channel.settings["inbound"]["host"]
            raise DeskError(
                f"{host} refused to remove moved mail from folder {target.source!r} "
                f"({_server_text(data)}); the copies are in {target.folder!r} and the originals "
                f"are marked deleted, so expunge {target.source!r} in a mail client."
            )


def _check_moved(typ: str, data: list[object], target: _MoveTarget) -> None:
    """A refused MOVE/COPY as a DeskError: the run's error must say which setting to fix,
    not look like a bug in deskterm (imap-tools raised MailboxCopyError here)."""
    if typ == "OK":
        return
    inbound = target.channel.settings["inbound"]
    host, name, what = inbound["host"], target.channel.name, _WHAT_MOVES[target.setting]
    if b"TRYCREATE" in _server_bytes(data):
        raise DeskError(
            f"Folder {target.folder!r} for {what} does not exist on {host}; create it or fix "
            f"{target.setting} in channel {name!r}."
        )
    raise DeskError(
        f"{host} refused {what} to folder {target.folder!r} ({_server_text(data)}); check the "
        f"folder and its permissions, or fix {target.setting} in channel {name!r}."
    )


def _store(
    client: imaplib.IMAP4, uids: list[int], flags: str, channel: Channel, folder: str
) -> None:
    """Add flags to these messages; a refusal becomes a sentence naming the folder."""
    typ, data = client.uid("STORE", _uid_set(uids), "+FLAGS.SILENT", flags)
    if typ != "OK":
        raise DeskError(
            f"{channel.settings['inbound']['host']} refused to mark processed mail in folder "
            f"{folder!r} ({_server_text(data)}); check that the account of channel "
            f"{channel.name!r} may change flags in that folder."
        )


def _server_bytes(data: object) -> bytes:
    """imaplib's response data as one byte string (for codes like [TRYCREATE])."""
    parts = data if isinstance(data, list) else [data]
    return b" ".join(p for p in parts if isinstance(p, bytes))


def _server_text(data: object) -> str:
    """The server's own words, short and printable, for the end of an error sentence."""
    return one_line(_server_bytes(data).decode("utf-8", "replace"))[:200] or "no reason given"


def _response(client: imaplib.IMAP4, name: str) -> bytes | None:
    _typ, data = client.response(name)
    value = data[0] if data else None
    if isinstance(value, bytes):
        return value
    return None


def _uid_set(uids: list[int]) -> str:
    """Compress runs (1,2,3,7 -> 1:3,7): a 10,000-UID command stays short."""
    parts: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if start != prev else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _quote(folder: str) -> bytes:
    return encode_folder(folder)
