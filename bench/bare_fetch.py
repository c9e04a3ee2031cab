"""The floor: download every message of a folder with plain imaplib and nothing else.

EXAMINE (read-only, so no flag changes), UID SEARCH ALL, then UID FETCH <batch of UIDs>
(BODY.PEEK[]) until done, over IMAPS with a verifying TLS context. The bodies are only
counted, never parsed or stored. Run as its own process, like the clients it is compared with:

    BENCH_IMAP_PASSWORD=... python -m bench.bare_fetch --port 993 --user U --cafile cert.pem

Prints one JSON line: {"messages", "bytes", "seconds"}.
"""

from __future__ import annotations

import argparse
import contextlib
import imaplib
import json
import os
import ssl
import sys
import time


def fetch_all(
    host: str, port: int, user: str, password: str, cafile: str, folder: str, batch: int
) -> tuple[int, int]:
    """(messages, bytes) downloaded from folder."""
    ctx = ssl.create_default_context(cafile=cafile)
    conn = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=60)
    try:
        conn.login(user, password)
        typ, data = conn.select(folder, readonly=True)
        if typ != "OK":
            raise RuntimeError(f"EXAMINE {folder}: {typ} {data!r}")
        typ, data = conn.uid("SEARCH", None, "ALL")
        if typ != "OK":
            raise RuntimeError(f"UID SEARCH: {typ} {data!r}")
        uids = data[0].split()
        count = size = 0
        for i in range(0, len(uids), batch):
            typ, data = conn.uid("FETCH", b",".join(uids[i : i + batch]), "(BODY.PEEK[])")
            if typ != "OK":
                raise RuntimeError(f"UID FETCH: {typ} {data!r}")
            for item in data:
                if isinstance(item, tuple):
                    count += 1
                    size += len(item[1])
        if count != len(uids):
            raise RuntimeError(f"fetched {count} of {len(uids)} messages")
        return count, size
    finally:
        with contextlib.suppress(Exception):
            conn.logout()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    password = os.environ.get("BENCH_IMAP_PASSWORD")
    if not password:
        sys.exit("bare_fetch: set BENCH_IMAP_PASSWORD")
    t0 = time.perf_counter()
    count, size = fetch_all(
        args.host, args.port, args.user, password, args.cafile, args.folder, args.batch
    )
    seconds = time.perf_counter() - t0
    print(json.dumps({"messages": count, "bytes": size, "seconds": round(seconds, 4)}))


if __name__ == "__main__":
    main()
