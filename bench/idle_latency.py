"""How long a delivered mail takes to become a conversation through IMAP IDLE, against how long
the server takes to deliver it, in one process.

    uv run python -m bench.idle_latency                   # 20 mails, ~30 s
    uv run python -m bench.idle_latency --mails 50 --json idle.json

Needs root, like bench.first_sync: the suite's own Dovecot + Postfix in a throwaway state dir.
A fresh desk is made as an admin would (`bench.first_sync.Clients.new_desk`), with the poll
interval an hour, so only IDLE brings mail in; the desk's worker runs in a thread of this
process. Each mail is handed to Postfix's MX port and timed from there to (a) Postfix's queue
empty, i.e. Dovecot has stored it (the baseline: the servers' own delivery) and (b) its
conversation in the desk. The tests (test_worker, test_worker_faults, test_app_live) check
only that IDLE brings a mail in at all; this reports how quickly: the median and maximum of
(a), (b) and the pickup (b - a), and `ratio` = median (b) / median (a).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.first_sync import SUPPORT, Clients, log
from deskterm.engine.events import EngineEvent, IdleChanged
from deskterm.engine.worker import Worker
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import Conversation
from tests.mailfactory import make_mail
from tests.servers.mailservers import MailServers, start_for_session

TIMEOUT = 30.0  # seconds a mail may take before the run is called failed


def until(condition: Any, what: str) -> float:
    """Seconds (monotonic clock) at which condition() first held, looking every 2 ms."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {TIMEOUT:.0f} s: {what}")
        time.sleep(0.002)
    return time.monotonic()


def idle_connected(events: list[EngineEvent]) -> bool:
    return any(isinstance(e, IdleChanged) and e.message == "IDLE connected" for e in events)


def measure(servers: MailServers, mails: int, gap: float) -> list[dict[str, float]]:
    """Deliver `mails` mails one at a time to a desk whose worker idles on support@."""
    events: list[EngineEvent] = []
    worker = Worker(store=open_secret_store(), on_event=events.append)
    thread = threading.Thread(target=worker.run_forever, name="bench-worker", daemon=True)
    thread.start()
    samples = []
    try:
        until(lambda: idle_connected(events), "IDLE connected")
        for number in range(1, mails + 1):
            time.sleep(gap)  # the IDLE session is waiting again, as between real mails
            raw = make_mail(f"Bench mail {number}", message_id=f"<idle-{number}@bench.example>")
            started = time.monotonic()
            servers.deliver(raw, SUPPORT)
            stored = until(lambda: not servers.queue_files(), f"mail {number} stored")
            ingested = until(
                lambda n=number: Conversation.select().count() == n, f"mail {number} ingested"
            )
            samples.append({"stored": stored - started, "ingested": ingested - started})
    finally:
        worker.request_stop()
        thread.join(timeout=30)
    return samples


def summarise(samples: list[dict[str, float]]) -> dict[str, Any]:
    stored = [s["stored"] for s in samples]
    ingested = [s["ingested"] for s in samples]
    pickup = [s["ingested"] - s["stored"] for s in samples]
    return {
        "mails": len(samples),
        "median_seconds": {
            "stored": round(statistics.median(stored), 4),
            "ingested": round(statistics.median(ingested), 4),
            "pickup": round(statistics.median(pickup), 4),
        },
        "max_seconds": {
            "stored": round(max(stored), 4),
            "ingested": round(max(ingested), 4),
            "pickup": round(max(pickup), 4),
        },
        "ratio": round(statistics.median(ingested) / statistics.median(stored), 2),
        "loadavg": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_latency")
    parser.add_argument("--mails", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between mails")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.idle_latency needs root (it starts Dovecot and Postfix)", file=sys.stderr)
        return 2
    for name in ("DESKTERM_MAX_AGE_DAYS", "DESKTERM_DATABASE_URL"):
        os.environ.pop(name, None)
    os.environ["DESKTERM_POLL_INTERVAL"] = "3600"  # only IDLE brings mail in
    work = Path(tempfile.mkdtemp(prefix="deskterm-bench-idle-"))
    session = start_for_session()
    try:
        servers = next(session)
        servers.clear(SUPPORT)
        env = Clients(servers, work, 0).new_desk()
        os.environ.update({k: v for k, v in env.items() if k.startswith("DESKTERM_")})
        connection.open_database()
        try:
            samples = measure(servers, args.mails, args.gap)
        finally:
            connection.close_database()
    except TimeoutError as exc:
        log(f"FAILED: {exc}")
        return 1
    finally:
        session.close()  # stops the servers and deletes their state dir
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(samples)
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "samples": samples}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
