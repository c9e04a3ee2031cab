"""One IMAP sync of a channel: search what is unprocessed, fetch in batches, commit, flag.

Order of operations is the whole safety argument:
  1. fetch a batch of raw messages (BODY.PEEK, so \\Seen is left for humans);
  2. store raw files and apply the batch to the database in one transaction;
  3. only then flag the batch `$DeskProcessed` (or move it) on the server.
A crash before 3 leaves the mail unflagged: it is fetched again and recognised by its dedup
key. Nothing is flagged that was not committed, so nothing is lost.
"""

from __future__ import annotations

import imaplib
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor

from imap_tools.utils import encode_folder

from deskterm import sync_window
from deskterm.db import database
from deskterm.errors import DeskError
from deskterm.imap_conn import DeskMailBox
from deskterm.ingest import Counts, Fetched, Ingestor, Outcome, prepare_batch
from deskterm.mailparse import env_limits
from deskterm.models import Channel, FolderState

PROCESSED = "$DeskProcessed"
BATCH = 500

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")

Progress = Callable[[str, int, int], None]  # folder, done, total


class FolderMissing(DeskError):
    pass


def sync(
    channel: Channel,
    mailbox: DeskMailBox,
    counts: Counts,
    *,
    pool: Executor | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Sync every configured folder, adding to `counts` as batches commit (kept on failure)."""
    ingestor = Ingestor(channel)
    for folder in channel.settings["inbound"]["folders"]:
        sync_folder(channel, mailbox, folder, ingestor, counts, pool, progress, stop)
        if stop is not None and stop.is_set():
            break


def sync_folder(
    channel: Channel,
    mailbox: DeskMailBox,
    folder: str,
    ingestor: Ingestor,
    counts: Counts,
    pool: Executor | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> None:
    client = mailbox.client
    inbound = channel.settings["inbound"]
    typ, _ = client.select(_quote(folder))
    if typ != "OK":
        raise FolderMissing(
            f"Folder {folder!r} cannot be opened on {inbound['host']} (it may have been deleted "
            f"or renamed); fix folders in the channel {channel.name!r}."
        )
    uidvalidity = int(_response(client, "UIDVALIDITY") or 0)
    permanent = _response(client, "PERMANENTFLAGS") or b""
    keyword = PROCESSED if b"\\*" in permanent or PROCESSED.encode() in permanent else "\\Seen"

    state, _ = FolderState.get_or_create(channel=channel, folder=folder)
    if state.uidvalidity != uidvalidity:
        # The mailbox was recreated: every UID means something else now. Re-scan all of it;
        # dedup keys keep what we already have from being stored twice.
        state.uidvalidity = uidvalidity
        state.last_uid = 0
        state.save()

    uids = _search(client, keyword, state.last_uid, sync_window.since(inbound))
    if not uids:
        return
    sizes = _sizes(client, uids)
    limit = inbound["max_message_bytes"]
    max_body, min_attachment = env_limits()
    done = 0
    total = len(uids)
    if progress:
        progress(folder, 0, total)
    pending: tuple[list[int], list[Fetched], Callable[[], None]] | None = None
    for batch in [*_chunks(uids, BATCH), None]:
        # Fetch (and start parsing) the next batch before committing the one in hand, so
        # the network, the parser processes and the database work at the same time.
        ahead = None
        if batch is not None:
            items = _fetch(client, [u for u in batch if sizes.get(u, 0) <= limit])
            items += [
                Fetched(str(u), b"", None, f"too large ({sizes[u]} bytes; the limit is {limit})")
                for u in batch
                if sizes.get(u, 0) > limit
            ]
            items.sort(key=lambda item: int(item.uid))
            ahead = (batch, items, prepare_batch(items, pool, max_body, min_attachment))
        if pending is not None:
            done_uids, done_items, finish = pending
            finish()
            with database.atomic():
                outcomes = ingestor.apply(done_items, folder)
                state.last_uid = max(state.last_uid, *done_uids)
                state.save()
            _settle(mailbox, keyword, inbound, outcomes)
            counts.add(outcomes)
            done += len(done_uids)
            if progress:
                progress(folder, done, total)
            if stop is not None and stop.is_set():
                return  # the batch fetched ahead stays unflagged: next run takes it
        pending = ahead


def _search(client: imaplib.IMAP4, keyword: str, last_uid: int, since: object) -> list[int]:
    if keyword == PROCESSED:
        criteria = ["UNKEYWORD", PROCESSED]
    else:
        # \Seen fallback: a human may read mail before we do, so new UIDs count too.
        criteria = ["OR", "UNSEEN", f"UID {last_uid + 1}:*"]
    if since is not None:
        criteria += ["SINCE", sync_window.imap_date(since)]  # type: ignore[arg-type]
    typ, data = client.uid("SEARCH", *criteria)
    if typ != "OK":
        raise DeskError(f"The IMAP server refused to search the folder ({_text(data)}).")
    return sorted({int(x) for x in (data[0] or b"").split()})


def _sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for chunk in _chunks(uids, 5000):
        typ, data = client.uid("FETCH", _uid_set(chunk), "(RFC822.SIZE)")
        if typ != "OK":
            raise DeskError(f"The IMAP server refused to list message sizes ({_text(data)}).")
        for line in data:
            head = line[0] if isinstance(line, tuple) else line
            uid, size = _UID.search(head or b""), _SIZE.search(head or b"")
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> list[Fetched]:
    """One round trip for the whole batch; messages deleted meanwhile are simply absent."""
    if not uids:
        return []
    typ, data = client.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise DeskError(f"The IMAP server refused to fetch messages ({_text(data)}).")
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


def _settle(mailbox: DeskMailBox, keyword: str, inbound: dict, outcomes: list[Outcome]) -> None:
    """Mark committed mail processed on the server (flag, or move where configured)."""
    done = [o.uid for o in outcomes if o.kind != "failed"]
    failed = [o.uid for o in outcomes if o.kind == "failed"]
    for uids, folder in ((done, inbound["move_on_success"]), (failed, inbound["move_on_failure"])):
        if not uids:
            continue
        if folder:
            mailbox.move(uids, folder)
        else:
            uid_set = _uid_set(sorted(int(u) for u in uids))
            typ, data = mailbox.client.uid("STORE", uid_set, "+FLAGS.SILENT", f"({keyword})")
            if typ != "OK":
                raise DeskError(f"The IMAP server refused to flag messages ({_text(data)}).")


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


def _text(data: object) -> str:
    return repr(data)[:200]
