"""A conversation's status and what moves it: the one place the lifecycle is decided.

open -> pending -> resolved -> closed. Three things change a status, each a named transition
here, applied by the module that sees it happen:
- the customer writes (`customer_wrote`, applied by inbound ingest): a new conversation starts
  open, and the customer's answer reopens one that was pending, resolved or closed. An
  outsider's mail (joined by its headers alone) is no answer and moves nothing.
- an agent replies (`agent_replied`, applied by the outbox when the reply is queued): the
  conversation becomes what the agent chose, pending (waiting for the customer) unless they
  say otherwise; an automatic acknowledgement changes nothing.
- an agent sets it (`checked`, `next_status`, applied by triage): any status, or the next one
  in the cycle the `s` key steps through.
"""

from __future__ import annotations

from deskterm.errors import ConfigError

STATUSES = ("open", "pending", "resolved", "closed")
# The order `s` steps through: the usual life of a ticket.
CYCLE = STATUSES
# What a reply may leave the conversation as in the composer; the first is the default.
AFTER_REPLY = ("pending", "resolved")
DEFAULT_AFTER_REPLY = AFTER_REPLY[0]


def customer_wrote(current: str | None) -> str:
    """The status after a customer's mail: open, for a new conversation (no status yet) and
    for one that was waiting on them or done."""
    if current is None or current in ("pending", "resolved", "closed"):
        return "open"
    return current


def agent_replied(current: str, chosen: str | None) -> str:
    """The status after a reply is queued: the agent's choice; None (an automatic reply)
    leaves it as it was."""
    return chosen or current


def checked(value: str, *, or_all: bool = False) -> str:
    """`value` when it is a status (or "all", where a filter takes it), else a ConfigError
    saying which are."""
    if value in STATUSES or (or_all and value == "all"):
        return value
    allowed = ", ".join(STATUSES) + (" or all" if or_all else "")
    raise ConfigError(f"Status {value!r} is not known; use {allowed}.")


def next_status(current: str) -> str:
    """The next status of the cycle (closed wraps to open; an unknown one starts it)."""
    if current not in CYCLE:
        return CYCLE[0]
    return CYCLE[(CYCLE.index(current) + 1) % len(CYCLE)]
