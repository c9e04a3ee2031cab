"""The parsing floor: the stdlib's parser alone on the benchmark mailbox, on one core.

Issue 3 keeps the stdlib parser (compat32), so no client of ours can parse faster than this:
every message through `BytesParser(policy=compat32)` and every leaf's payload decoded, nothing
else (no text extraction, no storing). Run as its own process on the cached corpus:

    python -m bench.stdlib_parse --messages 10000 --seed 1

Prints one JSON line: {"messages", "cpu_seconds"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from bench import corpus


def parse_all(messages: list[bytes]) -> float:
    """CPU seconds to parse and decode every message."""
    parser = BytesParser(policy=compat32)
    start = time.process_time()
    for raw in messages:
        message: Message = parser.parsebytes(raw)
        for part in message.walk():
            if not part.is_multipart():
                part.get_payload(decode=True)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stdlib_parse")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    messages = corpus.cached(args.messages, args.seed)
    print(json.dumps({"messages": len(messages), "cpu_seconds": parse_all(messages)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
