"""Mail whose parsing kills the process that parses it is set aside, never fetched forever.

Parsing a mail can take about ten times its size in memory (a 45 MB mail peaked at 443 MB),
and the system's OOM killer ends the process parsing it with SIGKILL: a parsing process of the
pool, or `deskterm poll` itself. Nothing in that process can record which mail it was, so the
next poll fetched the same batch and died the same way, and the channel never moved again.

So before a batch is parsed its UIDs are written down here (one small file per folder), and
taken off once the batch is committed and marked on the server. A poll that finds UIDs left
over knows its predecessor died with them in hand: it parses each of them alone, and notes
so only while that one parse runs. A mail on which the parser died alone twice is the one
that kills: it is recorded as failed (raw kept, listed by `deskterm skipped`) without being
parsed again. Twice, so that one unrelated kill (a reboot, `kill -9`) landing in that
moment never sets a good mail aside.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable

from deskterm import paths
from deskterm.inbound.stages import Fetched
from deskterm.store import blobs

DEATHS = 2  # deaths while parsing one mail alone before it is set aside
KILLED = (
    "the mail-parsing process died twice on this mail (likely out of memory); it is kept "
    "whole, unparsed: open the raw mail to read it"
)


def set_aside(items: list[Fetched]) -> None:
    """The mail the parser died on alone `DEATHS` times: its raw bytes stored whole, never
    parsed again, and recorded as failed (KILLED) when the batch is applied."""
    for item in items:
        item.raw_path, item.raw, item.error = blobs.store_raw(item.raw), b"", KILLED


class ParseGuard:
    """What is being parsed in one folder (at one UIDVALIDITY), on disk while it is."""

    def __init__(self, channel_id: int, folder: str, epoch: str) -> None:
        name = hashlib.sha256(f"{channel_id}\t{folder}".encode()).hexdigest()[:24]
        self.path = paths.home() / "parsing" / f"{name}.json"
        self.epoch = epoch
        self.inflight: set[str] = set()  # IMAP UIDs or POP3 UIDLs, as text
        self.alone = False
        self.deaths = 0

    def left_over(self) -> tuple[set[str], int]:
        """(ids a dead poll had in hand, how often the parser died on the one it was parsing
        alone: 0 when it was not parsing one alone)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return set(), 0
        if not isinstance(data, dict) or data.get("epoch") != self.epoch:
            return set(), 0
        uids = {u for u in data.get("uids", []) if isinstance(u, str)}
        deaths = data.get("deaths") if isinstance(data.get("deaths"), int) else 0
        return uids, deaths + 1 if data.get("alone") is True and len(uids) == 1 else 0

    def parsing(self, uids: Iterable[object], *, alone: bool = False, deaths: int = 0) -> None:
        """These ids are in hand (fetched, being parsed, applied); `alone`: one mail is being
        parsed by itself right now, after `deaths` deaths on it."""
        self.inflight |= {str(u) for u in uids}
        self.alone, self.deaths = alone, deaths
        self._write()

    def parsed(self) -> None:
        """The mail parsed alone was parsed: a death from now on is not its doing."""
        self.alone = False
        self._write()

    def done(self, uids: Iterable[object]) -> None:
        self.inflight -= {str(u) for u in uids}
        self._write()

    def _write(self) -> None:
        if not self.inflight:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        self.path.parent.mkdir(mode=0o700, exist_ok=True)
        data = {
            "epoch": self.epoch,
            "uids": sorted(self.inflight),
            "alone": self.alone,
            "deaths": self.deaths,
        }
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        os.replace(temporary, self.path)  # a SIGKILL leaves the old file or the new, whole
