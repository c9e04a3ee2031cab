"""One POP3 sync: UIDL tells what is new, commit, then (only if asked) delete on the server.

POP3 has no flags, so the UIDLs we committed (Pop3Seen) are the record of what is ingested;
they are written in the same transaction as the messages. Only mail stored here (ingested,
skipped after it was parsed and kept, or kept unparsed after it killed the parser) goes into
Pop3Seen, and only Pop3Seen mail is ever deleted on the server. Mail that could not be
fetched (over `max_message_bytes`) is recorded once in SkippedMail, with the sender and
subject read by `TOP n 0`, and stays on the server: there is no other copy of it.

DELE takes effect only at QUIT, so a run that fails loses its deletes. With
`delete_after_fetch`, every run therefore deletes all listed mail already in Pop3Seen, not
only what it fetched itself.

POP3 has no search either, so the age window (sync_window) is applied to the Date header,
read by `TOP n 0` for mail not yet seen. Mail outside the window is left alone: not fetched,
not recorded, not deleted, so widening the window later brings it in. Mail whose date is
missing or unreadable is fetched: the window may leave out old history, never new mail.
"""

from __future__ import annotations

import poplib
import threading
from datetime import date, datetime, time, timedelta

from deskterm import settings
from deskterm.channels.typed import ChannelConfig
from deskterm.inbound import window as sync_window
from deskterm.inbound.batches import BATCH, BATCH_BYTES, plan_batches
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.parse_guard import DEATHS, ParseGuard, set_aside
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Counts, Fetched, Progress, unfetched
from deskterm.mail.parse import ParsedMail, parse
from deskterm.net import pop3 as pop3_conn
from deskterm.store.db import database
from deskterm.store.models import Channel, Pop3Seen, SkippedMail

FOLDER = "POP3"  # the folder SkippedMail rows of POP3 mail name
STATE_FOLDER = "INBOX"  # POP3's one mailbox, as its FolderState row (the window's anchor)
# Date headers are read as UTC; the sender's own day can be up to 14 hours ahead of it. Mail
# dated inside the window where it was written must not be left out by the conversion.
EARLIEST_ZONE = timedelta(hours=14)

# Per channel (its uid): the date of each message the window left out, by UIDL. A UIDL names
# the same message for good (RFC 1939), so its date never changes; remembering it keeps each
# poll of a worker from reading the headers of the same old mail again. Only this process
# remembers: a new one reads them once more.
_left_out: dict[str, dict[str, datetime]] = {}


def sync(
    channel: Channel,
    client: poplib.POP3,
    counts: Counts,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Fetch new mail in batches, each committed before its UIDLs are recorded or deleted."""
    inbound = ChannelConfig.of(channel).inbound
    ingestor = Ingestor(channel)
    depth = pop3_conn.pipeline_depth(client)
    listing = pop3_conn.listing(client)
    sizes = pop3_conn.sizes(client)
    seen = {row.uidl for row in Pop3Seen.select(Pop3Seen.uidl).where(Pop3Seen.channel == channel)}
    failed = _failed(channel)
    deleting = inbound.delete_after_fetch
    if deleting:
        # Committed by an earlier run whose deletes were lost (it failed before QUIT), or
        # before the setting was turned on. Never mail recorded as failed: it is only there.
        committed = sorted(n for u, n in listing.items() if u in seen and u not in failed)
        pop3_conn.delete(client, committed, depth)
    anchor = sync_window.folder_state(channel, STATE_FOLDER).first_sync_on
    window = sync_window.since(inbound, anchor=anchor)
    limit = inbound.max_message_bytes
    unseen = sorted((n, u) for u, n in listing.items() if u not in seen and u not in failed)
    new, oversize = _in_window(channel, client, unseen, sizes, limit, window, depth, stop)
    if stop is not None and stop.is_set():
        return
    max_body, min_attachment = settings.current().parse_limits
    # Bounded by bytes (LIST's sizes) as well as by count: a batch's raw mail is all held at
    # once until it is parsed. Mail too large to fetch weighs nothing; a big one goes alone.
    weights = [0 if sizes.get(n, 0) > limit else sizes.get(n, 0) for n, _ in new]
    done = 0
    # What a dead poll was parsing first, each alone; the one it died on alone is kept
    # unparsed and recorded as failed (deskterm.inbound.parse_guard).
    guard = ParseGuard(channel.id, FOLDER, "")
    left, deaths = guard.left_over()
    suspects = [[item] for item in new if item[1] in left]
    rest = [item for item in new if item[1] not in left]
    weights = [w for item, w in zip(new, weights, strict=True) if item[1] not in left]
    for batch in [*suspects, *plan_batches(rest, weights, BATCH_BYTES, BATCH)]:
        items = []
        for number, uidl in batch:
            if sizes.get(number, 0) > limit:
                reason = f"too large ({sizes[number]} bytes; the limit is {limit})"
                items.append(unfetched(uidl, oversize.get(number), reason))
                continue
            items.append(Fetched(uidl, pop3_conn.retrieve(client, number), None))
        alone = batch in suspects
        if alone and deaths >= DEATHS:
            set_aside(items)
        else:
            guard.parsing([uidl for _, uidl in batch], alone=alone, deaths=deaths)
            prepare_batch(items, None, max_body, min_attachment, ingestor.mapped_headers)()
            guard.parsed()
        with database.atomic():
            outcomes = ingestor.apply(items, FOLDER)
            # Mail too large to fetch has no copy here: its SkippedMail row (no raw path)
            # keeps it from being fetched again, and keeping it out of Pop3Seen keeps it from
            # deletion. All the rest is kept here, including mail that killed the parser
            # (failed, kept whole): recorded as seen, it is never fetched and parsed again.
            stored = [item.uid for item in items if item.raw_path]
            if stored:
                Pop3Seen.insert_many([{"channel": channel, "uidl": u} for u in stored]).execute()
        counts.add(outcomes)
        guard.done(uidl for _, uidl in batch)
        if deleting:
            pop3_conn.delete(client, [listing[u] for u in stored], depth)
        done += len(batch)
        if progress:
            progress("POP3", done, len(new))
        if stop is not None and stop.is_set():
            break


def _failed(channel: Channel) -> set[str]:
    """UIDLs recorded without a copy here (too large): never fetched again, never deleted.

    Told apart by their missing raw path, which also covers rows written before this rule,
    when such mail went into Pop3Seen too.
    """
    rows = SkippedMail.select(SkippedMail.uid).where(
        SkippedMail.channel == channel,
        SkippedMail.folder == FOLDER,
        SkippedMail.raw_path.is_null(),
    )
    return {uid for (uid,) in rows.tuples()}


def _in_window(
    channel: Channel,
    client: poplib.POP3,
    unseen: list[tuple[int, str]],
    sizes: dict[int, int],
    limit: int,
    window: date | None,
    depth: int,
    stop: threading.Event | None,
) -> tuple[list[tuple[int, str]], dict[int, bytes]]:
    """The unseen mail to fetch, and the headers of the oversize mail among it.

    Headers are read (`TOP n 0`) only where needed: for the window's Date check, unless
    remembered from an earlier poll, and for mail too large to fetch, so its SkippedMail row
    can name the sender and subject.
    """
    remembered = _left_out.get(channel.uid, {})
    wanted = [
        n
        for n, u in unseen
        if sizes.get(n, 0) > limit or (window is not None and u not in remembered)
    ]
    heads: dict[int, bytes] = {}
    parsed: dict[int, ParsedMail] = {}
    for start in range(0, len(wanted), BATCH):
        for number, raw in pop3_conn.headers(client, wanted[start : start + BATCH], depth).items():
            heads[number], parsed[number] = raw, parse(raw)
        if stop is not None and stop.is_set():
            return [], {}
    new = []
    left_out = {}
    for number, uidl in unseen:
        mail = parsed.get(number)
        sent = mail.date if mail is not None else remembered.get(uidl)
        if window is not None and sent is not None and _before(sent, window):
            left_out[uidl] = sent
        else:
            new.append((number, uidl))
    _left_out[channel.uid] = left_out
    oversize = {n: heads[n] for n, _ in new if sizes.get(n, 0) > limit and n in heads}
    return new, oversize


def _before(sent: datetime, window: date) -> bool:
    """Whether mail sent then (naive UTC) is older than the window's first day everywhere."""
    return sent + EARLIEST_ZONE < datetime.combine(window, time.min)
