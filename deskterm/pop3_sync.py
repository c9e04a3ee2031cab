"""One POP3 sync: UIDL tells what is new, commit, then (only if asked) delete on the server.

POP3 has no flags, so the UIDLs we committed (Pop3Seen) are the record of what is ingested;
they are written in the same transaction as the messages. POP3 has no search either: the
max-age window cannot be applied on the server and is not applied at all.
"""

from __future__ import annotations

import poplib
import threading

from deskterm.db import database
from deskterm.imap_sync import BATCH, Progress
from deskterm.ingest import Counts, Fetched, Ingestor, prepare_batch
from deskterm.mailparse import env_limits
from deskterm.models import Channel, Pop3Seen


def sync(
    channel: Channel,
    client: poplib.POP3,
    counts: Counts,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> None:
    inbound = channel.settings["inbound"]
    ingestor = Ingestor(channel)
    listing = {}
    for line in client.uidl()[1]:
        number, _, uidl = line.decode("ascii", "replace").partition(" ")
        listing[uidl.strip()] = int(number)
    sizes = {}
    for line in client.list()[1]:
        number, _, size = line.decode("ascii", "replace").partition(" ")
        sizes[int(number)] = int(size.split()[0]) if size.strip() else 0
    seen = {row.uidl for row in Pop3Seen.select(Pop3Seen.uidl).where(Pop3Seen.channel == channel)}
    new = sorted(((n, u) for u, n in listing.items() if u not in seen), key=lambda x: x[0])
    limit = inbound["max_message_bytes"]
    max_body, min_attachment = env_limits()
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        items = []
        for number, uidl in batch:
            if sizes.get(number, 0) > limit:
                reason = f"too large ({sizes[number]} bytes; the limit is {limit})"
                items.append(Fetched(uidl, b"", None, reason))
                continue
            lines = client.retr(number)[1]
            items.append(Fetched(uidl, b"\r\n".join(lines) + b"\r\n", None))
        prepare_batch(items, None, max_body, min_attachment)()
        with database.atomic():
            outcomes = ingestor.apply(items, "POP3")
            Pop3Seen.insert_many([{"channel": channel, "uidl": u} for _, u in batch]).execute()
        if inbound["delete_after_fetch"]:
            for number, _ in batch:
                client.dele(number)
        counts.add(outcomes)
        if progress:
            progress("POP3", start + len(batch), len(new))
        if stop is not None and stop.is_set():
            break
