"""Timing a headless Textual app by the frames it composes (shared by the UI benchmarks).

Headless Textual still composes every frame a terminal would get (at most 60 a second);
`Frames` notes when each one is handed out, with what a probe saw on the screen then, so a
keystroke is timed from the key entering the app (as a terminal's key does) until the first
frame that shows its effect.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError("the app did not get there in time")
        await asyncio.sleep(0.0005)


class Frames:
    """Every frame the app composes: (when, what `probe` saw on its screen then)."""

    def __init__(self, app: App[Any], probe: Callable[[Any], Any]) -> None:
        self.seen: list[tuple[float, Any]] = []
        display = app._display

        def recording(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                self.seen.append((time.perf_counter(), probe(screen)))
            display(screen, renderable)

        app._display = recording  # type: ignore[method-assign]

    def count(self) -> int:
        return len(self.seen)

    async def first(
        self,
        after: int,
        check: Callable[[Any], object] = lambda _probe: True,
        timeout: float = 60.0,
    ) -> float:
        """When the first frame after the first `after` came whose probe passes `check`."""
        await until(lambda: any(check(s) for _, s in self.seen[after:]), timeout)
        return next(t for t, s in self.seen[after:] if check(s))


def send_key(app: App[Any], key: str) -> float:
    """Hand a key to the app as its driver does for a terminal's key; returns when."""
    t = time.perf_counter()
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))  # type: ignore[union-attr]
    return t


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]
