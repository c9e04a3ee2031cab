"""The bottom line of every screen: what the worker is doing, and the keys that matter here.

The worker state, progress and channel states come from the app (which hears the engine's
events); error texts may quote a server's answer, so they pass `one_line` like mail does.
"polled 2 min ago" (the newest run, whichever process ran it) shows at a glance that the
worker is alive: a number that keeps growing means it is not.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

from deskterm.sanitize import one_line


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, hints: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hints = hints

    def on_mount(self) -> None:
        for name in ("worker_state", "activity", "channel_summary", "last_poll"):
            self.watch(self.app, name, lambda _value: self.refresh(), init=False)
        self.set_interval(15, self.refresh)  # the age of the last poll moves on

    @property
    def state_text(self) -> str:
        app = self.app
        parts = [
            f"worker {getattr(app, 'worker_state', '')}",
            polled_ago(getattr(app, "last_poll", None), getattr(app, "clock", None)),
            getattr(app, "activity", ""),
            getattr(app, "channel_summary", ""),
        ]
        return one_line(" · ".join(p for p in parts if p))

    def render(self) -> Content:
        width = self.size.width
        left = f" {self.state_text}"
        right = f"{self.hints} "
        room = width - cell_len(left)
        if cell_len(right) >= room:
            right = ""
        return Content.assemble(
            (left, "bold" if "fail" in left or "error" in left else ""),
            " " * max(0, room - cell_len(right)),
            (right, "dim"),
        ).truncate(width)


def polled_ago(last: datetime | None, clock: object) -> str:
    """How long ago the newest run ended ("polled 40 s ago"), by the app's clock (naive UTC)."""
    if last is None or not callable(clock):
        return ""
    seconds = max(0, int((clock() - last).total_seconds()))
    if seconds < 60:
        return f"polled {seconds} s ago"
    if seconds < 3600:
        return f"polled {seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"polled {seconds // 3600} h ago"
    return f"polled {seconds // 86400} days ago"
