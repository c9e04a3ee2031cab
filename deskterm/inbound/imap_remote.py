"""A big first sync fetched by the worker processes, each over its own IMAP connection.

From REMOTE_FETCH_THRESHOLD mails on (deskterm.inbound.imap_sync), the processes of the
parsing pool fetch and parse planned batches themselves, so that the sync's own process only
writes the database and flags. Each holds one planned batch (within BATCH_BYTES) of raw mail
at a time and keeps its connection for the next task.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import threading
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

from deskterm import paths
from deskterm.inbound.parse_guard import ParseGuard
from deskterm.inbound.prepare import prepare
from deskterm.inbound.stages import Batches, Fetched
from deskterm.net import imap
from deskterm.net.imap import DeskMailBox
from deskterm.net.login import Credentials
from deskterm.net.tls import Endpoint

REMOTE_AHEAD = 4  # tasks in flight while this process commits


@dataclass(frozen=True)
class Source:
    """How a worker process reaches the mailbox itself (the secret travels only in the pipe)."""

    endpoint: Endpoint
    credentials: Credentials


def fetched(client: imaplib.IMAP4, uids: list[int], part: str = "BODY.PEEK[]") -> list[Fetched]:
    """These messages fetched (`part` of each), not yet parsed."""
    return [Fetched(uid, raw) for uid, raw in imap.fetch(client, uids, part)]


def warm(pool: Executor) -> None:
    """Have the pool start its processes now, beside this thread's searching: they start on
    demand, one per waiting task, and the first start waits for the fork server (0.15 s)."""

    def start() -> None:
        with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile
            for _ in range(2):
                pool.submit(os.getpid)

    threading.Thread(target=start, name="deskterm-pool-start", daemon=True).start()


def remote_batches(
    pool: Executor,
    source: Source,
    folder: str,
    planned: list[list[int]],
    limits: tuple[int, int, tuple[str, ...]],
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


_worker_mailboxes: dict[tuple[str, int, str], tuple[DeskMailBox, list[str]]] = {}


def fetch_and_prepare(
    job: tuple[Source, str, list[int], int, int, tuple[str, ...], Path, Path],
) -> list[Fetched]:
    """Runs in a worker process: fetch a batch over this process's own connection, parse it
    and store its files. A dropped connection is opened again once."""
    source, folder, uids, max_body, min_att, headers, mail_dir, attachments_dir = job
    for attempt in (1, 2):
        mailbox = _worker_mailbox(source, folder)
        try:
            items = fetched(mailbox.client, uids)
            break
        except (OSError, imaplib.IMAP4.abort):
            _worker_mailboxes.pop(_key(source), None)
            if attempt == 2:
                raise
    raws = [i.raw for i in items]
    prepared = prepare((raws, max_body, min_att, headers, mail_dir, attachments_dir))
    for item, (mail, ref, stored) in zip(items, prepared, strict=True):
        item.raw, item.mail, item.raw_path, item.attachments = b"", mail, ref, stored
    return items


def _key(source: Source) -> tuple[str, int, str]:
    return (source.endpoint.host, source.endpoint.port, source.credentials.username)


def _worker_mailbox(source: Source, folder: str) -> DeskMailBox:
    entry = _worker_mailboxes.get(_key(source))
    if entry is None:
        mailbox = imap.connect(source.endpoint)
        imap.login(mailbox, source.endpoint, source.credentials)
        entry = (mailbox, [""])
        _worker_mailboxes[_key(source)] = entry
    mailbox, selected = entry
    if selected[0] != folder:
        imap.select(mailbox.client, folder, readonly=True)
        selected[0] = folder
    return mailbox
