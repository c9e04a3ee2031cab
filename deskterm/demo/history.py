"""A week of the demo desk's work at fixed moments: replies, status changes and time spent,
made through the engine's own functions (the outbox, triage, time_spent) under the desk's
clock set to each moment (`db.clock_at`), so the reports have a history to show and the
tests a known one to check (tests/engine/test_reports.py works its numbers out by hand).

Moments are given before `ANCHOR` (Monday 11 March 2024, 12:00 UTC) and moved with the
demo's mail, so a demo built today has its history in the past week too. Replies stay in the
outbox: the demo's channel is a draft, never sent from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from deskterm.desk import time_spent, triage
from deskterm.outbound.replies import queue_reply
from deskterm.store.db import clock_at


@dataclass(frozen=True)
class Step:
    mail: str  # the demo mail whose conversation it happens in
    before_anchor: timedelta  # when: this long before ANCHOR
    reply: str | None = None  # a reply's text
    status: str | None = None  # the status afterwards (of the reply, or set by triage)
    agent: str | None = None  # who writes the reply and logs `minutes` of time
    minutes: int = 0


def _ago(days: int, hours: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours)


# In time order. The mail's own dates are in demo/mail/*.eml (e.g. 19-billing-address:
# Tuesday 5 March 10:00, so its reply two hours later is 6 days and 0 hours before ANCHOR).
HISTORY = (
    Step("25-thanks.eml", _ago(6, 4), status="resolved", agent="kim", minutes=5),
    Step("19-billing-address.eml", _ago(6, 0), "We updated the address.", "pending", "sam", 15),
    Step("17-feature.eml", _ago(5, 3), "Thanks, it is on our list.", "pending", "alex", 10),
    Step("15-refund.eml", _ago(3, 21), "The refund is on its way.", "resolved", "alex", 30),
    Step("03-invoice-vat.eml", _ago(0, 3.5), "A corrected invoice follows.", "pending", "sam", 20),
    Step("11-german.eml", _ago(0, 2), "Wir kümmern uns darum.", "pending", "kim", 10),
)


def apply(by_file: dict[str, int], anchor: datetime, shift: timedelta) -> int:
    """Play HISTORY on the demo's conversations (`by_file`: mail file -> conversation id);
    `anchor` is ANCHOR as a naive UTC datetime, `shift` how far the demo moved its mail.
    Returns how many steps were played."""
    played = 0
    for step in HISTORY:
        conversation_id = by_file.get(step.mail)
        if conversation_id is None:
            continue
        moment = anchor - step.before_anchor + shift
        with clock_at(moment):
            if step.reply:
                queue_reply(conversation_id, step.reply, status=step.status, agent=step.agent)
            elif step.status:
                triage.set_status(conversation_id, step.status)
            if step.minutes:
                time_spent.add(conversation_id, step.minutes * 60, agent=step.agent)
        played += 1
    return played
