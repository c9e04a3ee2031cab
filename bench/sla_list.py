"""The list sorted by SLA due time at 100,000 conversations, against its default order, in
the same run: what storing the due time on the conversation buys (desk/sla.py).

One desk is built (the demo plus N synthetic conversations, `add_synthetic`), one SLA policy
is added through the engine (`sla.add_policy`: every conversation's clock set, timed once:
what `deskterm sla add` costs at this size), and then, in rounds, the list's ids query for the
open tab is timed in each order (`list_index.conversation_ids`: the whole index the list
holds), with the first page of rows the list draws (`conversation_rows`, 64 ids). The report
gives medians and p95 per order and due/newest: only the ratio means much on a shared machine.

    uv run python -m bench.sla_list [--conversations 100000] [--rounds 5] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.frames import log, median, p95
from deskterm.demo import desk as demo
from deskterm.desk import list_index, sla
from deskterm.desk.sla_policies import Terms
from deskterm.store import connection

ORDERS = ("newest", "due")


def timed(order: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    ids = list_index.conversation_ids("open", order=order)
    t1 = time.perf_counter()
    list_index.conversation_rows(ids[:64])
    return (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DESKTERM_HOME"] = str(Path(tmp) / "desk")
        connection.open_database()
        log(f"building the desk ({args.conversations:,} extra conversations)")
        demo.build_demo(now=demo.ANCHOR)
        demo.add_synthetic(args.conversations, now=demo.ANCHOR)
        t0 = time.perf_counter()
        sla.add_policy(
            "bench", Terms(first_response="4h", resolution="24h", hours="mon-fri 09:00-17:00")
        )
        setting = time.perf_counter() - t0
        log(f"sla add set every clock in {setting:.1f} s")
        samples: dict[str, dict[str, list[float]]] = {o: {"ids": [], "rows": []} for o in ORDERS}
        for _ in range(args.rounds):
            for order in ORDERS:
                ids_ms, rows_ms = timed(order)
                samples[order]["ids"].append(ids_ms)
                samples[order]["rows"].append(rows_ms)
        connection.close_database()
    report: dict[str, Any] = {"sla_add_seconds": round(setting, 2)}
    for order in ORDERS:
        for part in ("ids", "rows"):
            values = samples[order][part]
            report[f"{order}_{part}_ms"] = {
                "median": round(median(values), 1),
                "p95": round(p95(values), 1),
            }
    report["due_over_newest_ids"] = round(
        median(samples["due"]["ids"]) / median(samples["newest"]["ids"]), 2
    )
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"report": report, "samples": samples}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
