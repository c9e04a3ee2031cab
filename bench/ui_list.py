"""The conversation list's speed at 100,000 conversations, against a small desk, same run.

Two desks are built once: "small" is the demo desk (22 conversations, the bundled mail through
the real pipeline) and "large" is the same plus N synthetic conversations
(`deskterm.demo.add_synthetic`, one message each). Then, in rounds that alternate the desks,
a fresh `DeskApp` (headless, 80x24, worker off, as the tests run it) is timed in-process:

* first paint: from starting the app until the first frame showing the loaded list (the ids
  query in its thread worker, the first page of rows, composing the frame);
* keys: from a key event entering the app until the frame it caused is composed (headless
  Textual composes frames as a terminal would get them, at most 60 a second, so up to ~17 ms
  of this is frame pacing), for j, k, pagedown, pageup, G and g, `--keys` of each per round
  (G and g alternate, so every G lands on a page not in the cache);
* search: from the last typed character of a search until the frame showing the narrowed list,
  minus the typing debounce (SEARCH_DELAY): full-text (FTS5) on SQLite.

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

from bench.frames import Frames, log, median, p95, send_key
from deskterm import db, demo
from deskterm.app import DeskApp
from deskterm.screens.conversations import SEARCH_DELAY

KEYS = ("j", "k", "pagedown", "pageup", "G", "g")
SEARCH = "order 1"  # matches subjects and text of about a third of the synthetic desk
NOW = demo.ANCHOR.replace(tzinfo=None)


def use_desk(home: Path) -> None:
    os.environ["DESKTERM_HOME"] = str(home)
    db.open_database()


def build(home: Path, extra: int) -> float:
    use_desk(home)
    t0 = time.perf_counter()
    demo.build_demo(now=demo.ANCHOR)
    if extra:
        demo.add_synthetic(extra, now=demo.ANCHOR)
    return time.perf_counter() - t0


async def one_round(keys: int) -> dict[str, Any]:
    app = DeskApp(clock=lambda: NOW, run_worker=False)
    # Each frame with the list generation on screen then.
    frames = Frames(app, lambda screen: getattr(screen, "loaded", 0))
    samples: dict[str, Any] = {key: [] for key in KEYS}

    t0 = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        samples["first_paint"] = await frames.first(0, lambda g: g >= 1) - t0
        samples["rows"] = len(screen.conversations.ids)
        for _ in range(keys):
            for key in KEYS:
                await pilot.pause()  # quiet before each key, untimed
                count = frames.count()
                t = send_key(app, key)
                samples[key].append(await frames.first(count) - t)
        await pilot.press("slash", *SEARCH[:-1])
        await pilot.pause(SEARCH_DELAY * 2)
        await pilot.pause()
        wanted, count = screen.generation + 1, frames.count()
        t = time.perf_counter()
        await pilot.press(SEARCH[-1])
        samples["search"] = await frames.first(count, lambda g: g >= wanted) - t - SEARCH_DELAY
        samples["search_rows"] = len(screen.conversations.ids)
    return samples


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
        db.close_database()

    def summary(name: str) -> dict[str, Any]:
        rounds = results[name]
        out: dict[str, Any] = {
            "rows": rounds[0]["rows"],
            "first_paint_ms": median([r["first_paint"] for r in rounds]) * 1000,
            "search_ms": median([r["search"] for r in rounds]) * 1000,
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
    rows = [("first paint", "first_paint_ms"), ("search", "search_ms")]
    rows += [(f"key {k}", f"{k}_ms") for k in KEYS] + [
        (f"key {k} p95", f"{k}_p95_ms") for k in KEYS
    ]
    for label, key in rows:
        ratio = large[key] / small[key] if small[key] else float("nan")
        print(f"{label:<18}{small[key]:>11.1f} ms{large[key]:>11.1f} ms{ratio:>12.2f}x")
    print(
        f"\n(desks built in {built['small']:.1f} s and {built['large']:.1f} s; the search "
        f"{SEARCH!r} found {small['search_rows']} and {large['search_rows']:,} open rows)"
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
