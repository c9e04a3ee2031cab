"""Preparing fetched mail for ingest: parse it and store its raw bytes and attachments.

Runs in the parsing processes when a pool is given, so only small results travel back; the
files land before the batch is committed, as safety requires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from deskterm import paths
from deskterm.inbound.stages import Fetched
from deskterm.mail.parse import ParsedMail, parse
from deskterm.store import blobs


def prepare_batch(
    items: list[Fetched],
    pool: Executor | None,
    max_body: int,
    min_att: int,
    headers: tuple[str, ...] = (),
) -> Callable[[], None]:
    """Parse and store what was fetched; returns the call that waits for it to be done.

    With a pool the work runs in other processes while the caller goes on, and those
    processes also write the raw messages and attachments, so only small results travel
    back. The files land before the batch is committed, as safety requires. `headers`: the
    channel's mapped headers (`Ingestor.mapped_headers`), kept by the parse while it has the
    bytes, so ingest never reads the raw mail back for them.
    """
    todo = [item for item in items if item.error is None]
    size = max(1, -(-len(todo) // 2)) if pool is not None else len(todo) or 1
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    jobs = [
        (
            [i.raw for i in chunk],
            max_body,
            min_att,
            headers,
            paths.mail_dir(),
            paths.attachments_dir(),
        )
        for chunk in chunks
    ]
    for item in todo:
        item.raw = b""  # the bytes now belong to the job; keep memory flat on big syncs
    results: Iterator[list[Prepared]]
    results = pool.map(prepare, jobs) if pool is not None else map(prepare, jobs)

    def finish() -> None:
        for chunk, prepared in zip(chunks, results, strict=True):
            for item, (mail, raw_path, stored) in zip(chunk, prepared, strict=True):
                item.mail, item.raw_path, item.attachments = mail, raw_path, stored

    return finish


Prepared = tuple[ParsedMail, str, list[tuple[str, int]]]
PrepareJob = tuple[list[bytes], int, int, tuple[str, ...], Path, Path]


def prepare(job: PrepareJob) -> list[Prepared]:
    """Parse messages and store their raw bytes and attachments (runs in worker processes)."""
    raws, max_body, min_att, headers, mail_dir, attachments_dir = job
    refs = blobs.store_pack(raws, mail_dir) if raws else []
    prepared = []
    for raw, ref in zip(raws, refs, strict=True):
        prepared.append(prepare_stored(raw, ref, max_body, min_att, attachments_dir, headers))
    return prepared


def prepare_stored(
    raw: bytes,
    ref: str,
    max_body: int,
    min_att: int,
    attachments_dir: Path,
    headers: tuple[str, ...] = (),
) -> Prepared:
    """Parse one message whose raw bytes are stored at `ref` already, and store its
    attachments (also how a rescued skipped mail is read back, see inbound.rescue)."""
    mail = parse(raw, max_body_bytes=max_body, min_attachment_bytes=min_att, headers=headers)
    stored = [
        (blobs.store_attachment(part.data, attachments_dir), len(part.data))
        for part in mail.attachments
    ]
    for part in mail.attachments:
        part.data = b""  # stored: only its sha256 travels back
    mail.html = None  # its text is in mail.text; the markup stays in the raw message
    return mail, ref, stored
