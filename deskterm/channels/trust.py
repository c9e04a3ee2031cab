"""Trusting a channel's certificates again, as the UI's dialog does it: read what each side
presents now beside its pin, then pin only what the admin saw, refusing when a pin moved in
the meantime (another admin, the CLI, an edit of the server)."""

from __future__ import annotations

from dataclasses import dataclass

from deskterm.channels import check as conntest
from deskterm.channels import registry as channels
from deskterm.errors import DeskError


@dataclass(frozen=True)
class SideCertificate:
    """One side of the channel: where, the pin, and what its server presents now."""

    side: str
    where: str  # "IMAP 127.0.0.1:993"
    pinned: str | None = None
    seen: str | None = None  # None: not read (see note or error)
    note: str = ""  # why nothing is pinned on this side (no TLS, CA-verified)
    error: str = ""  # why the certificate could not be read

    @property
    def changed(self) -> bool:
        return self.seen is not None and self.seen != self.pinned


def read_certificates(name: str) -> list[SideCertificate]:
    """For each side `channel trust` looks at: the pin, and what the server presents now."""
    channel = channels.get(name)
    found = []
    for side in channels.trust_sides(channel):
        endpoint = channels.endpoint(channel, side)
        where = f"{endpoint.label} {endpoint.where}"
        note = conntest.nothing_to_pin(channel, side)
        if note:
            found.append(SideCertificate(side, where, note=note))
            continue
        try:
            presented = conntest.presented(channel, side)
        except DeskError as exc:
            found.append(SideCertificate(side, where, pinned=endpoint.pin, error=str(exc)))
            continue
        found.append(SideCertificate(side, where, presented.pinned, presented.seen))
    return found


def pin_certificates(name: str, shown: list[SideCertificate]) -> list[str]:
    """Pin what the admin saw and confirmed; refuse if a pin moved since (another admin, the
    CLI, or an edit of the server), rather than overwrite what they did not see."""
    channel = channels.get(name)
    pinned = []
    for item in shown:
        if not item.changed:
            continue
        if getattr(channel, f"{item.side}_pin") != item.pinned:
            raise DeskError(
                f"The {item.side} pin of {name!r} changed while this dialog was open; nothing "
                "was pinned: press P again to see the new state."
            )
    for item in shown:
        if item.changed:
            channels.trust(channel, item.side, item.seen)
            pinned.append(item.side)
    return pinned
