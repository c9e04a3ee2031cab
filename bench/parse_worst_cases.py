"""CPU time of the worst mails the parse tests feed deskterm, against the stdlib's parser on
the same bytes, in one process.

    uv run python -m bench.parse_worst_cases [--rounds 3]

tests/engine/test_mailparse.py checks what deskterm makes of these mails (the cut on a character
boundary, the truncation marker); how long that takes is measured here, where a busy machine
moves both numbers alike: a 5 MB base64 text body cut to 100 KB, and an HTML mail of 60,000
links cut to 100 KB (the tests once asserted each took under 5 s of wall clock). For each,
the minimum CPU seconds over the rounds of `deskterm.mail.parse.parse` and of the baseline,
the stdlib's `BytesParser(compat32)` + payload decode alone (bench/stdlib_parse, the floor
issue 3 keeps), and `ratio` = deskterm / stdlib. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys

from bench import stdlib_parse
from bench.parser_compare import cpu_seconds
from deskterm.mail.parse import parse

LIMIT = 100_000  # max_body_bytes, as the tests give it


def mail(content_type: str, body: bytes, encoding: str | None = None) -> bytes:
    head = [
        "From: Customer <c@example.com>",
        "To: support@desk.test",
        "Subject: worst case",
        "Message-ID: <worst@example.com>",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    if encoding:
        head.append(f"Content-Transfer-Encoding: {encoding}")
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


def worst_cases() -> dict[str, bytes]:
    line = "Grüße ✓ " * 10 + "\n"
    text = line * (5_000_000 // len(line.encode()))
    links = "".join(f'<a href="https://example.com/{i}">link {i}</a><br>' for i in range(60_000))
    return {
        "5 MB base64 text": mail(
            "text/plain; charset=utf-8", base64.encodebytes(text.encode()), "base64"
        ),
        "60,000 HTML links": mail("text/html; charset=utf-8", links.encode()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_worst_cases")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    report = {}
    for name, raw in worst_cases().items():
        deskterm = stdlib = float("inf")
        for _ in range(max(1, args.rounds)):
            deskterm = min(deskterm, cpu_seconds(lambda r: parse(r, max_body_bytes=LIMIT), [raw]))
            stdlib = min(stdlib, stdlib_parse.parse_all([raw]))
        report[name] = {
            "bytes": len(raw),
            "cpu_seconds": {"deskterm_parse": round(deskterm, 3), "stdlib": round(stdlib, 3)},
            "ratio": round(deskterm / stdlib, 2),
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
