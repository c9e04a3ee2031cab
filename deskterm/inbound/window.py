"""Which mail is in scope: the max-age window and the sync start date.

Mail outside the window is not fetched at all (IMAP searches with SINCE on the server), so
widening the window later simply brings it in. The window bounds the history a first sync
imports: it counts from the day the folder was first synced, so mail that arrives after that
is never left out, however long the desk was not polling.
"""

from __future__ import annotations

from datetime import date, timedelta

from deskterm import settings
from deskterm.channels.typed import InboundConfig
from deskterm.store.models import Channel, FolderState


def max_age_days(inbound: InboundConfig) -> int:
    """The channel's history window in days, unless DESKTERM_MAX_AGE_DAYS overrides it."""
    override = settings.current().max_age_days
    return inbound.max_age_days if override is None else override


def since(
    inbound: InboundConfig, today: date | None = None, anchor: date | None = None
) -> date | None:
    """The first day in scope, or None for everything.

    The age window counts back from `anchor`, the day the folder was first synced (today if
    it never was): it keeps a first sync from importing years of history, and nothing more.
    Counting from today instead would leave out, for good, mail that arrived while the desk
    was stopped or the channel failing for longer than the window (FreeScout's missed mail).
    """
    today = today or date.today()
    start = min(anchor, today) if anchor is not None else today
    bounds = []
    days = max_age_days(inbound)
    if days > 0:
        bounds.append(start - timedelta(days=days))
    if inbound.sync_start_date:
        bounds.append(date.fromisoformat(inbound.sync_start_date))
    return max(bounds) if bounds else None


def imap_date(day: date) -> str:
    """IMAP's date format (RFC 3501), independent of the locale."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{day.day:02d}-{months[day.month - 1]}-{day.year}"


def folder_state(channel: Channel, folder: str) -> FolderState:
    """A folder's sync state; `first_sync_on` (the age window's anchor) is set on first use."""
    state, _ = FolderState.get_or_create(
        channel=channel, folder=folder, defaults={"first_sync_on": date.today()}
    )
    if state.first_sync_on is None:  # the column is nullable: a row emptied by hand
        state.first_sync_on = date.today()
        state.save()
    return state
