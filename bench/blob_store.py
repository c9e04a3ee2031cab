"""Where a team desk's raw mail lives: files in a shared directory (`DESKTERM_BLOB_DIR`) or
rows in PostgreSQL, written and read side by side in one run.

    uv run python -m bench.blob_store                  # 2,000 mails of bench.corpus, 3 rounds
    uv run python -m bench.blob_store --mails 500 --rounds 1 --json blobs.json

Needs PostgreSQL like the suite: tests/servers/pgserver.py starts a throwaway cluster (as root,
or as a user where Debian's postgresql is installed) and removes it afterwards.

What is timed, per round, the two ways in alternating order:
- write: the mails in batches of 500, as a sync stores them. Directory: `blobs.store_pack`,
  one pack file per batch (what the ingest path does). PostgreSQL: one INSERT of the batch
  into a `blob (key text primary key, data bytea)` table, committed.
- read: 300 mails picked at random, one at a time, as the desk reads one (the source view,
  forward, a reply's check): `blobs.read_raw` against `SELECT data FROM blob WHERE key = %s`.
Both run on this machine, over loopback for PostgreSQL; the directory is a local one, so it is
the best case for files (a shared directory over NFS adds a network round trip to each). The
suite's cluster runs without fsync, and blobs.py does not fsync either. Reported: medians of
seconds, MB/s, the on-disk size, and ratio = PostgreSQL / directory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2.extras import execute_values

from bench.corpus import cached
from deskterm.store import blobs
from tests.servers.pgserver import fresh_database, start_for_session

BATCH = 500
READS = 300


def _write_dir(mails: list[bytes], base: Path) -> list[str]:
    refs: list[str] = []
    for start in range(0, len(mails), BATCH):
        refs.extend(blobs.store_pack(mails[start : start + BATCH], base))
    return refs


def _write_pg(mails: list[bytes], conn: Any) -> list[str]:
    keys = [hashlib.sha256(raw).hexdigest() for raw in mails]
    with conn.cursor() as cur:
        for start in range(0, len(mails), BATCH):
            rows = [
                (key, psycopg2.Binary(raw))
                for key, raw in zip(
                    keys[start : start + BATCH], mails[start : start + BATCH], strict=True
                )
            ]
            execute_values(
                cur, "INSERT INTO blob (key, data) VALUES %s ON CONFLICT DO NOTHING", rows
            )
            conn.commit()
    return keys


def _read_dir(refs: list[str]) -> int:
    return sum(len(blobs.read_raw(ref)) for ref in refs)


def _read_pg(keys: list[str], conn: Any) -> int:
    total = 0
    with conn.cursor() as cur:
        for key in keys:
            cur.execute("SELECT data FROM blob WHERE key = %s", (key,))
            total += len(cur.fetchone()[0])
    conn.rollback()  # end the read transaction, as a desk's autocommit read would
    return total


def _dir_size(base: Path) -> int:
    return sum(f.stat().st_size for f in base.rglob("*") if f.is_file())


def _round(mails: list[bytes], url: str, rnd: random.Random, pg_first: bool) -> dict[str, float]:
    """One round on a fresh directory and a fresh database; seconds and sizes."""
    found: dict[str, float] = {}
    base = Path(tempfile.mkdtemp(prefix="deskterm-blobs-"))
    os.environ["DESKTERM_BLOB_DIR"] = str(base)
    (base / "mail").mkdir()
    try:
        with fresh_database(url) as db_url:
            conn = psycopg2.connect(db_url)
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE blob (key text PRIMARY KEY, data bytea NOT NULL)")
            conn.commit()
            picks = rnd.sample(range(len(mails)), min(READS, len(mails)))
            order = ("pg", "dir") if pg_first else ("dir", "pg")
            refs: list[str] = []
            keys: list[str] = []
            for way in order:
                t0 = time.perf_counter()
                if way == "dir":
                    refs = _write_dir(mails, base / "mail")
                else:
                    keys = _write_pg(mails, conn)
                found[f"{way}_write_s"] = time.perf_counter() - t0
            for way in order:
                t0 = time.perf_counter()
                if way == "dir":
                    _read_dir([refs[i] for i in picks])
                else:
                    _read_pg([keys[i] for i in picks], conn)
                found[f"{way}_read_s"] = time.perf_counter() - t0
            with conn.cursor() as cur:
                cur.execute("SELECT pg_total_relation_size('blob')")
                found["pg_bytes"] = float(cur.fetchone()[0])
            conn.close()
        found["dir_bytes"] = float(_dir_size(base / "mail"))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args()
    mails = cached(args.mails)
    megabytes = sum(len(m) for m in mails) / 1e6
    read_mb = None
    rnd = random.Random(7)
    samples: list[dict[str, float]] = []
    server = start_for_session()
    pg = next(server)
    try:
        for n in range(args.rounds):
            samples.append(_round(mails, pg.url(), rnd, pg_first=n % 2 == 1))
    finally:
        server.close()
    median = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    picks = min(READS, len(mails))
    read_mb = megabytes * picks / len(mails)
    report = {
        "mails": len(mails),
        "megabytes": round(megabytes, 1),
        "rounds": args.rounds,
        "median": {k: round(v, 4) for k, v in median.items()},
        "write_mb_s": {
            "dir": round(megabytes / median["dir_write_s"], 1),
            "pg": round(megabytes / median["pg_write_s"], 1),
        },
        "read_ms_per_mail": {
            "dir": round(1000 * median["dir_read_s"] / picks, 3),
            "pg": round(1000 * median["pg_read_s"] / picks, 3),
        },
        "ratio_pg_over_dir": {
            "write": round(median["pg_write_s"] / median["dir_write_s"], 1),
            "read": round(median["pg_read_s"] / median["dir_read_s"], 1),
            "size": round(median["pg_bytes"] / median["dir_bytes"], 2),
        },
        "read_megabytes": round(read_mb, 1),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"report": report, "samples": samples}, indent=2))


if __name__ == "__main__":
    main()
