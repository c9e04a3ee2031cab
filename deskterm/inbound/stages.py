"""What the stages of mail arriving hand each other: fetched mail, where each ended, a run's tally.

IMAP and POP3 sync fetch (`Fetched`), prepare parses and stores the files, ingest applies a
batch and says where each mail ended (`Outcome`), and the run adds those up (`Counts`). The
types live here, below all of them, so that no stage takes its types from another.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from deskterm.mail.parse import ParsedMail, parse

Progress = Callable[[str, int, int], None]  # folder, done, total


@dataclass
class Fetched:
    """One message as fetched from a server, parsed (possibly in another process)."""

    uid: str
    raw: bytes
    mail: ParsedMail | None = None
    error: str | None = None  # why it cannot be ingested (e.g. over the size limit)
    raw_path: str | None = None  # set once the raw bytes are stored (see prepare)
    attachments: list[tuple[str, int]] = field(default_factory=list)  # (sha256, size) stored


def unfetched(uid: str, headers: bytes | None, reason: str) -> Fetched:
    """Mail that cannot be ingested (too large to fetch), named by its headers where we have
    them, so its SkippedMail row says who sent what.

    The header-only parse's dedup key is not the message's (the preview it hashes is empty):
    recorded, it could make a later complete copy of a mail without text look already
    recorded, so none is kept.
    """
    mail = dataclasses.replace(parse(headers), dedup_key="") if headers else None
    return Fetched(uid, b"", mail, reason)


@dataclass
class Outcome:
    uid: str
    kind: str  # ingested | skipped | failed
    reason: str = ""
    conversation_id: int | None = None
    message_id: int | None = None  # the message it became (ingested)
    again: bool = False  # this very fetch (folder + UID) is on record already: nothing written


@dataclass
class Counts:
    """A run's tally. `skipped` and `failed` count the rows the run wrote, so they equal what
    `deskterm skipped` lists for it; mail fetched again that is on record already (a flag or
    move that did not stick) is counted in `fetched` and `again` only."""

    fetched: int = 0
    ingested: int = 0
    skipped: int = 0
    failed: int = 0
    again: int = 0

    def add(self, outcomes: list[Outcome]) -> None:
        self.fetched += len(outcomes)
        for outcome in outcomes:
            kind = "again" if outcome.again else outcome.kind
            setattr(self, kind, getattr(self, kind) + 1)


# Fetched and parsed batches in order, each with the server's ids of the mail it holds.
Batches = Iterator[tuple[list[int], list[Fetched]]]
