"""CPU time of deskterm's parser against fast-mail-parser on the same mails, in one process.

    uv run python -m bench.corpus 10000 --eml /tmp/eml   # or let this script use the cache
    uv run python -m bench.parser_compare [--messages 10000] [--eml DIR] [--rounds 3]

Times, on the same bytes and alternating per round: `deskterm.mail.parse.parse` (everything the
desk stores), the stdlib's `BytesParser(compat32)` + payload decode alone (bench/stdlib_parse),
fast-mail-parser's `parse_email` alone, and the candidate adapter of tests/differential.py
(fast-mail-parser + deskterm's HTML-to-text and naming). Prints one JSON line with the
minimum CPU seconds per row over the rounds and the ratios to deskterm's parse.
fast-mail-parser is an experiment, not a dependency: `uv pip install fast-mail-parser`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import corpus, stdlib_parse


def cpu_seconds(fn: Callable[[bytes], object], mails: list[bytes]) -> float:
    """CPU seconds for `fn` over every mail, in this process."""
    start = time.process_time()
    for raw in mails:
        fn(raw)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parser_compare")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--eml", type=Path, help="read *.eml from DIR instead of the cache")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.eml:
        mails = [p.read_bytes() for p in sorted(args.eml.glob("*.eml"))]
    else:
        mails = corpus.cached(args.messages)

    import fast_mail_parser

    from deskterm.mail import parse as mailparse
    from tests import differential

    rows: dict[str, Callable[[bytes], object]] = {
        "deskterm_parse": mailparse.parse,
        "fast_mail_parser_alone": fast_mail_parser.parse_email,
        "candidate_adapter": differential.candidate_parse,
    }
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn in rows.items():
            best[name] = min(best.get(name, float("inf")), cpu_seconds(fn, mails))
        best["stdlib_compat32_alone"] = min(
            best.get("stdlib_compat32_alone", float("inf")), stdlib_parse.parse_all(mails)
        )
    base = best["deskterm_parse"]
    print(
        json.dumps(
            {
                "messages": len(mails),
                "bytes": sum(map(len, mails)),
                "fast_mail_parser": fast_mail_parser.__dict__.get("__version__", "0.10.0"),
                "cpu_seconds": {k: round(v, 3) for k, v in best.items()},
                "ratio_to_deskterm_parse": {k: round(v / base, 3) for k, v in best.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
