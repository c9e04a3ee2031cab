"""Which machine leads each channel, as its leader last wrote it: for people to read.

The leadership itself is a lock the database holds (an advisory lock on PostgreSQL, the
desk's file lock on SQLite; see engine.leadership); this row only tells `channel list`,
`channel show` and the worker screen who holds it. The leader writes it when it takes the
lead and refreshes `seen_at` as it works; a row not refreshed for STALE_AFTER belongs to a
leader that is gone (killed, cut off) and whose lock the server has freed or soon frees.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from deskterm.sanitize import one_line
from deskterm.store.db import iso, utcnow
from deskterm.store.models import Channel, ChannelLead

# Longer than a worker's longest quiet stretch (a cycle sleeps at most 5 s; a sync refreshes
# the row between its batches), shorter than anyone would wait to learn a leader is gone.
STALE_AFTER = timedelta(minutes=2)


def took(channel: Channel, host: str, pid: int) -> None:
    """This process (host, pid) has just taken the channel's lead."""
    now = utcnow()
    ChannelLead.insert(channel=channel.id, host=host, pid=pid, since=now, seen_at=now).on_conflict(
        conflict_target=[ChannelLead.channel],
        update={
            ChannelLead.host: host,
            ChannelLead.pid: pid,
            ChannelLead.since: now,
            ChannelLead.seen_at: now,
        },
    ).execute()


def seen(channel: Channel, host: str, pid: int) -> None:
    """The leader is still at work: refresh its row (written again if someone removed it)."""
    updated = (
        ChannelLead.update(seen_at=utcnow())
        .where(ChannelLead.channel == channel.id, ChannelLead.host == host, ChannelLead.pid == pid)
        .execute()
    )
    if not updated:
        took(channel, host, pid)


def let_go(channel_ids: list[int], host: str, pid: int) -> None:
    """This process stops leading these channels (it is ending): its rows go, so the desk
    says "no leader" at once rather than a stale one."""
    if channel_ids:
        ChannelLead.delete().where(
            ChannelLead.channel.in_(channel_ids), ChannelLead.host == host, ChannelLead.pid == pid
        ).execute()


def describe(lead: ChannelLead | None, now: datetime | None = None) -> dict[str, Any]:
    """What the CLI's JSON and the screens show of a channel's leader: `state` is `leading`,
    `stale` (not heard from for STALE_AFTER) or `none`."""
    if lead is None:
        return {"state": "none", "host": None, "pid": None, "since": None, "seen_at": None}
    now = now or utcnow()
    state = "stale" if now - lead.seen_at > STALE_AFTER else "leading"
    return {
        "state": state,
        "host": lead.host,
        "pid": lead.pid,
        "since": iso(lead.since),
        "seen_at": iso(lead.seen_at),
    }


def of_channels() -> dict[int, dict[str, Any]]:
    """Every channel's leader by channel id (`none` for those without a row): one query."""
    now = utcnow()
    rows = {lead.channel_id: lead for lead in ChannelLead.select()}
    return {c.id: describe(rows.get(c.id), now) for c in Channel.select(Channel.id)}


def of_channel(channel: Channel) -> dict[str, Any]:
    return describe(ChannelLead.get_or_none(ChannelLead.channel == channel.id))


def in_words(lead: dict[str, Any]) -> str:
    """One line for people: "kim-laptop (pid 4242) since …", "no leader", or stale."""
    if lead["state"] == "none":
        return "no leader"
    who = f"{one_line(lead['host'])[:64]} (pid {lead['pid']})"  # written by another machine
    if lead["state"] == "stale":
        return f"no leader (last: {who}, not seen since {lead['seen_at']})"
    return f"{who} since {lead['since']}"
