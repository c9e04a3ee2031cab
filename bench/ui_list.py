"""The conversation list's speed at 100,000 conversations, against a small desk, same run.

Two desks are built once: "small" is the demo desk (22 conversations, the bundled mail through
the real pipeline) and "large" is the same plus N synthetic conversations
(`deskterm.demo.desk.add_synthetic`, one message each). Then, in rounds that alternate the desks,
a fresh `DeskApp` (headless, 80x24, worker off, as the tests run it) is timed in-process:

* first paint: from starting the app until the first frame showing the loaded list (the ids
  query in its thread worker, the first page of rows, composing the frame);
* keys: from a key event entering the app until the frame it caused is composed (headless
  Textual composes frames as a terminal would get them, at most 60 a second, so up to ~17 ms
  of this is frame pacing), for j, k, pagedown, pageup, G and g, `--keys` of each per round
  (G and g alternate, so every G lands on a page not in the cache);
* search as you type: each character of a few searches (SEARCHES) is typed into the search box,
  one at a time, and timed from the moment its debounce (SEARCH_DELAY of quiet typing) fires
  the search until the first frame showing that search's result list (the filter bar's count
  may follow later). Every keystroke counts, the first letter of a word too: full-text (FTS5,
  prefix matching) plus contact and #id on SQLite.

Only ratios against the small desk mean much on a shared machine; the report gives medians,
p95 and large/small. `--json F` writes every sample.

    uv run python -m bench.ui_list [--conversations 100000] [--rounds 3] [--keys 30] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.frames import Frames, log, median, p95, send_key, until
from deskterm.app import DeskApp
from deskterm.demo import desk as demo
from deskterm.screens.conversations import SEARCH_DELAY
from deskterm.store import connection

KEYS = ("j", "k", "pagedown", "pageup", "G", "g")
# Typed one character at a time, each a search: from one letter (most of the desk matches) to
# a narrow match ("order 1", "zoë", a number), and a miss.
SEARCHES = ("order 1", "zoë", "refund 12", "qx")
NOW = demo.ANCHOR.replace(tzinfo=None)


def use_desk(home: Path) -> None:
    os.environ["DESKTERM_HOME"] = str(home)
    connection.open_database()


def build(home: Path, extra: int) -> float:
    use_desk(home)
    t0 = time.perf_counter()
    demo.build_demo(now=demo.ANCHOR)
    if extra:
        demo.add_synthetic(extra, now=demo.ANCHOR)
    return time.perf_counter() - t0


def generations(screen: Any) -> tuple[int, int]:
    """The list generation wholly on screen (counts too), and the one shown at all: a search
    shows its first rows before the whole list has been gathered."""
    loaded = getattr(screen, "loaded", 0)
    return loaded, getattr(screen, "shown", loaded)


async def one_round(keys: int) -> dict[str, Any]:
    app = DeskApp(clock=lambda: NOW, run_worker=False)
    # Each frame with the list generations on screen then: (wholly loaded, shown at all).
    frames = Frames(app, generations)
    samples: dict[str, Any] = {key: [] for key in KEYS}

    t0 = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        samples["first_paint"] = await frames.first(0, lambda g: g[0] >= 1) - t0
        samples["rows"] = len(screen.conversations.ids)
        for _ in range(keys):
            for key in KEYS:
                await pilot.pause()  # quiet before each key, untimed
                count = frames.count()
                t = send_key(app, key)
                samples[key].append(await frames.first(count) - t)
        samples["search"], samples["search_rows"] = await search_as_you_type(pilot, frames)
    return samples


async def search_as_you_type(pilot: Any, frames: Frames) -> tuple[list[float], dict[str, int]]:
    """Each keystroke of SEARCHES: from its debounce firing to the first frame of its result."""
    screen = pilot.app.screen
    fired: list[tuple[float, int]] = []  # (when the debounce ran the search, its generation)
    run_search = screen._run_search

    def timed_run_search() -> None:
        t = time.perf_counter()
        run_search()
        fired.append((t, screen.generation))

    # The timer is set with the bound method looked up at each keystroke: this one.
    screen._run_search = timed_run_search
    samples: list[float] = []
    rows: dict[str, int] = {}
    for search in SEARCHES:
        await pilot.press("slash")
        for char in search:
            await pilot.pause()
            count, before = frames.count(), len(fired)
            await pilot.press("space" if char == " " else char)
            await until(lambda before=before: len(fired) > before)
            t, wanted = fired[-1]
            samples.append(await frames.first(count, lambda g, w=wanted: g[1] >= w) - t)
        await until(lambda: screen.loaded == screen.generation)  # the whole list, untimed
        rows[search] = len(screen.conversations.ids)
        await pilot.press("escape")  # clears the search: the whole list again
        await until(lambda: screen.loaded == screen.generation)
        await pilot.pause()
    return samples, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", type=int, default=30, help="presses of each key per round")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deskterm-bench-ui-") as tmp:
        homes = {"small": Path(tmp) / "small", "large": Path(tmp) / "large"}
        log(f"building the large desk ({args.conversations:,} extra conversations)")
        built = {"large": build(homes["large"], args.conversations)}
        built["small"] = build(homes["small"], 0)
        results: dict[str, list[dict[str, Any]]] = {"small": [], "large": []}
        for number in range(args.rounds):
            for name in ("small", "large") if number % 2 == 0 else ("large", "small"):
                use_desk(homes[name])
                results[name].append(asyncio.run(one_round(args.keys)))
                log(
                    f"round {number + 1} {name}: first paint "
                    f"{results[name][-1]['first_paint'] * 1000:.0f} ms"
                )
        connection.close_database()

    def summary(name: str) -> dict[str, Any]:
        rounds = results[name]
        out: dict[str, Any] = {
            "rows": rounds[0]["rows"],
            "first_paint_ms": median([r["first_paint"] for r in rounds]) * 1000,
            "search_ms": median([v for r in rounds for v in r["search"]]) * 1000,
            "search_p95_ms": p95([v for r in rounds for v in r["search"]]) * 1000,
            "search_rows": rounds[0]["search_rows"],
        }
        for key in KEYS:
            values = [v for r in rounds for v in r[key]]
            out[f"{key}_ms"] = median(values) * 1000
            out[f"{key}_p95_ms"] = p95(values) * 1000
        return out

    small, large = summary("small"), summary("large")
    print(
        f"\nconversation list, 80x24, medians of {args.rounds} rounds "
        f"({args.keys} presses of each key per round)\n"
    )
    print(f"{'':<18}{'small desk':>14}{'large desk':>14}{'large/small':>13}")
    print(f"{'open rows':<18}{small['rows']:>14,}{large['rows']:>14,}")
    rows = [
        ("first paint", "first_paint_ms"),
        ("search key", "search_ms"),
        ("search key p95", "search_p95_ms"),
    ]
    rows += [(f"key {k}", f"{k}_ms") for k in KEYS] + [
        (f"key {k} p95", f"{k}_p95_ms") for k in KEYS
    ]
    for label, key in rows:
        ratio = large[key] / small[key] if small[key] else float("nan")
        print(f"{label:<18}{small[key]:>11.1f} ms{large[key]:>11.1f} ms{ratio:>12.2f}x")
    found = ", ".join(
        f"{s!r} {small['search_rows'][s]} and {large['search_rows'][s]:,}" for s in SEARCHES
    )
    print(
        f"\n(desks built in {built['small']:.1f} s and {built['large']:.1f} s; search key: "
        f"{len(results['large'][0]['search'])} keystrokes a round, each from its debounce "
        f"firing ({SEARCH_DELAY * 1000:.0f} ms after it) to the first frame of its result; "
        f"open rows found: {found})"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "summary": {"small": small, "large": large},
                    "samples": results,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
