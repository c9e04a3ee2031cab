"""The conversation list's columns: which fit a width, how each cell is cut, and the header
line above them. Pure functions of a row and a width (plus the header widget), so the list's
drawing stays about scrolling and the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from deskterm.sanitize import one_line


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


@dataclass(frozen=True)
class Extras:
    """What the desk needs the list to show beyond its fixed columns, read with the list's
    counts: `due`, the desk has SLA policies (a column says when each conversation is due);
    `channel`, the desk has more than one channel (on a one-channel desk the column would
    repeat one name on every row, in cells the subject needs at 80 columns)."""

    due: bool = False
    channel: bool = False


def columns_for(width: int, extras: Extras = Extras()) -> list[Column]:
    """The columns at this width: everything fits 80 columns, the subject takes what is left.
    The assignee's handle is narrow at 80 columns (`@kim`: most handles are short, a long one
    is cut with an ellipsis) and its width comes out of the subject's."""
    wide = width >= 100
    contact = 22 if wide else 14
    channel = 12 if wide else 7
    assignee = 10 if wide else 5
    fixed = [
        Column("unread", "", 1),
        Column("id", "#", 6, right=True),
        Column("status", "status", 8),
        Column("priority", "pri", 4),
        Column("contact", "contact", contact),
        Column("assignee", "agent", assignee),
    ]
    tail = [
        *([Column("due", "due", 5, right=True)] if extras.due else []),
        Column("age", "age", 4, right=True),
        Column("messages", "msg", 3, right=True),
        *([Column("channel", "channel", channel)] if extras.channel else []),
    ]
    used = sum(c.width for c in fixed + tail) + len(fixed + tail)  # one space after each
    subject = Column("subject", "subject", max(8, width - used))
    return [*fixed, subject, *tail]


def fit(text: str, width: int, right: bool = False) -> str:
    """Exactly `width` cells (wide characters counted twice), cut with an ellipsis."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad


def age(updated_at: str | None, now: datetime) -> str:
    """How long ago, in at most four cells: now, 12m, 5h, 3d, 6w, 11mo, 2y."""
    if not updated_at:
        return ""
    then = datetime.fromisoformat(updated_at).replace(tzinfo=None)
    return span((now.replace(tzinfo=None) - then).total_seconds())


def due(row: dict[str, Any], now: datetime) -> str:
    """When the SLA's running target is due, readable without colour: "3h" to go, "~20m"
    due soon (inside the policy's warning time), "!2h" breached two hours ago; "" when no
    target runs (no policy, met, or the clock stopped while pending, resolved or closed)."""
    due_at, warn_at = row.get("due_at"), row.get("warn_at")
    if due_at is None:
        return ""
    moment = now.replace(tzinfo=None)
    if due_at <= moment:
        return "!" + span((moment - due_at).total_seconds())
    left = span((due_at - moment).total_seconds())
    return ("~" if warn_at is not None and warn_at <= moment else "") + left


def span(seconds: float) -> str:
    """A stretch of time in at most four cells: now, 12m, 5h, 3d, 6w, 11mo, 2y."""
    minutes = int(seconds // 60)
    for limit, unit, size in (
        (60, "m", 1),
        (60 * 24, "h", 60),
        (60 * 24 * 14, "d", 60 * 24),
        (60 * 24 * 61, "w", 60 * 24 * 7),
        (60 * 24 * 365, "mo", 60 * 24 * 30),
    ):
        if minutes < limit:
            return "now" if minutes < 1 else f"{minutes // size}{unit}"
    return f"{minutes // (60 * 24 * 365)}y"


def cells(row: dict[str, Any], now: datetime) -> dict[str, str]:
    """The text of each column for one row; mail-borne strings made safe here, once."""
    contact = row.get("contact_name") or row.get("contact") or "-"
    # A handle is checked when an agent is added (desk/agents.HANDLE), but it comes out of a
    # database other machines write, so it is made safe here like everything else.
    handle = row.get("assignee")
    return {
        "unread": "●" if row["unread"] else " ",
        "id": str(row["id"]),
        "status": row["status"],
        "priority": "" if row["priority"] == "normal" else row["priority"],
        "contact": one_line(contact),
        "assignee": f"@{one_line(handle)}" if handle else "",
        "subject": one_line(row["subject"] or "(no subject)"),
        "age": age(row["updated_at"], now),
        "due": due(row, now),
        "messages": str(row["messages"]),
        "channel": one_line(row["channel"] or ""),
    }


def header_text(width: int, extras: Extras = Extras()) -> str:
    return " ".join(fit(c.title, c.width, c.right) for c in columns_for(width, extras))[:width]


class ColumnHeader(Widget):
    """The titles above the list, laid out by the same `columns_for`."""

    DEFAULT_CSS = """
    ColumnHeader { height: 1; color: $text-muted; text-style: bold; padding-right: 1; }
    """

    extras = Extras()  # the list's (ConversationList.extras)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        return Strip([Segment(fit(header_text(width, self.extras), width), self.rich_style)], width)


# --- the list ----------------------------------------------------------------------------
