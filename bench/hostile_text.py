"""How the CPU time of text a stranger shapes to be slow grows with its size, in one process:
the inputs whose tests once asserted a wall-clock bound.

    uv run python -m bench.hostile_text [--rounds 3]

Each case runs one function of deskterm on a hostile input at a quarter of its size and at its
full size; `growth` = full / quarter. Linear code gives about 4, whatever the machine's speed;
the quadratic code these replaced gave about 16 (and seconds to minutes at full size). Prints
one JSON line with the CPU seconds (best of the rounds) and the growth per case.

- address headers (`mail.parse`): a To of 60,000 letters, a Cc of a name and 60,000 blanks, a
  From of 30,000 `.a`, five times each, and 60 Cc of 30,000 `a@` (past 64,000 characters of one
  address header the parser reads no more, so this case grows less than linearly);
- reflow (`mail.reflow`): 400,000 soft line breaks of format=flowed joined into one paragraph;
- links (`desk.message_tools.links`): `https://a.example/` and 200,000 `)`;
- TUI words (`screens.words.tui_words`): an unclosed "`deskterm channel " and 400,000
  letters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from deskterm.desk import message_tools
from deskterm.mail.parse import parse
from deskterm.mail.reflow import reflow
from deskterm.screens.words import tui_words


def _mail(*headers: str) -> bytes:
    return "\r\n".join(headers).encode() + b"\r\n\r\nHello\r\n"


def cases(scale: float) -> dict[str, Callable[[], object]]:
    """Each hostile input at `scale` of its full size."""

    def n(count: int) -> int:
        return max(1, int(count * scale))

    headers = [f"To: {'a' * n(60_000)}", f"Cc: x{' ' * n(60_000)}y", f"From: {'.a' * n(30_000)}"]
    mail = _mail(*headers * 5, *[f"Cc: {'a@' * n(30_000)}"] * 60)
    flowed = "ab \n" * n(400_000)
    brackets = "https://a.example/" + ")" * n(200_000) + "."
    unclosed = "`deskterm channel " + "a" * n(400_000)
    return {
        "address headers": lambda: parse(mail),
        "reflow": lambda: reflow(flowed, 80, flowed=True),
        "links": lambda: message_tools.links(brackets),
        "TUI words": lambda: tui_words(unclosed),
    }


def cpu(run: Callable[[], object]) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_text")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    report = {}
    quarter, full = cases(0.25), cases(1.0)
    for name in full:
        small = large = float("inf")
        for _ in range(max(1, args.rounds)):
            small = min(small, cpu(quarter[name]))
            large = min(large, cpu(full[name]))
        report[name] = {
            "cpu_seconds": {"quarter": round(small, 3), "full": round(large, 3)},
            "growth": round(large / max(small, 1e-6), 1),
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
