"""A channel's health as the desk sees it: whether it is due to be polled and why not.

One rule read by the worker (which channels to poll, how often), `deskterm jobs` and the UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from deskterm import settings
from deskterm.channels.typed import ChannelConfig
from deskterm.store.db import iso, utcnow
from deskterm.store.models import Channel


def poll_interval(channel: Channel) -> float:
    override = settings.current().poll_interval
    if override is not None:
        return override
    return ChannelConfig.of(channel).inbound.poll_interval


def in_skip_window(windows: Iterable[str], now: datetime | None = None) -> str | None:
    """The window we are in (local time; a window may cross midnight), or None."""
    now = now or datetime.now()
    minute = now.hour * 60 + now.minute
    for window in windows:
        start_s, end_s = window.split("-")
        start = int(start_s[:2]) * 60 + int(start_s[3:])
        end = int(end_s[:2]) * 60 + int(end_s[3:])
        inside = start <= minute < end if start <= end else minute >= start or minute < end
        if inside:
            return window
    return None


def channel_state(channel: Channel, now: datetime | None = None) -> tuple[str, str]:
    """(state, detail) as `deskterm jobs` and the UI show it."""
    now = now or utcnow()
    if channel.status != "active":
        return channel.status, f"the channel is {channel.status}; only active channels are polled"
    if channel.paused:
        return "paused", "polling is paused for this channel"
    window = in_skip_window(ChannelConfig.of(channel).inbound.skip_windows)
    if window:
        return "skip window", f"no polling during {window}"
    if channel.cool_off_until and channel.cool_off_until > now:
        return "cooling off", (
            f"cooling off until {iso(channel.cool_off_until)} after {channel.fail_count} "
            f"failures: {channel.last_error}"
        )
    if channel.failing_since:
        return "failing", f"failing since {iso(channel.failing_since)}: {channel.last_error}"
    if channel.last_ok_at:
        return "ok", f"last good poll {iso(channel.last_ok_at)}"
    return "new", "not polled yet"


def eligible(channel: Channel) -> bool:
    return channel_state(channel)[0] in ("ok", "failing", "new")
