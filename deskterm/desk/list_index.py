"""The conversation list of the UI: the ids that match a filter, and the rows it draws.

The list shows any of 100,000 conversations instantly, so it never asks for "page N" with
OFFSET (SQLite walks every skipped row, and a jump to the end of 100,000 rows then costs as
much as reading them all). Instead it asks once per filter for the matching ids, newest
activity first (one narrow query that returns integers only), and fetches the rows it draws
by primary key, a screenful at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import peewee

from deskterm.channels import registry as channels
from deskterm.desk import status as lifecycle
from deskterm.desk.filters import narrowed, search_condition
from deskterm.errors import ConfigError
from deskterm.store import cancel
from deskterm.store.db import iso
from deskterm.store.models import Channel, Contact, Conversation

# The list's orders, in the order `o` cycles through them, with what the header says.
ORDERS = {
    "newest": "newest activity",
    "waiting": "oldest waiting",
    "priority": "priority",
    "due": "due first",
}
DEFAULT_ORDER = "newest"


def order_terms(order: str) -> list[Any]:
    """ORDER BY for one of ORDERS: newest activity first; the oldest activity first (who has
    waited longest); high priority first, then normal, then low, newest first within each;
    the SLA's next due time first (breached ones lead), those without one last, newest first."""
    if order == "waiting":
        return [Conversation.updated_at.asc(), Conversation.id.asc()]
    if order == "due":
        # The stored due time (desk/sla.py), so 100,000 rows sort on an index, not a formula.
        return [Conversation.due_at.is_null(), Conversation.due_at.asc(), Conversation.id.asc()]
    newest = [Conversation.updated_at.desc(), Conversation.id.desc()]
    if order == "priority":
        rank = peewee.Case(Conversation.priority, (("high", 0), ("normal", 1), ("low", 2)), 3)
        return [rank, *newest]
    if order != DEFAULT_ORDER:
        raise ConfigError(f"Order {order!r} is not known; use {', '.join(ORDERS)}.")
    return newest


def conversation_ids(
    status: str = "open",
    channel: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    tag: str | None = None,
    order: str = DEFAULT_ORDER,
    type: str | None = None,
    field: str | None = None,
) -> list[int]:
    """Ids of the matching conversations in the list's order (its whole index), newest
    activity first unless another of ORDERS is asked for."""
    query = Conversation.select(Conversation.id)
    query = narrowed(
        query, status, channel, search, assignee=assignee, tag=tag, type=type, field=field
    )
    if order == "due":
        # Those with a due time in its order, then the others newest first: two scans of
        # covering indexes (conversation_due_order, conversation_list_order). One ORDER BY
        # putting NULLs last sorted every row instead, and `due_at IS NULL` in the second
        # query read every row of the table: 2x and 5x the newest order at 100,000.
        due = _ids(
            query.where(Conversation.due_at.is_null(False)).order_by(
                Conversation.due_at, Conversation.id
            )
        )
        timed = set(due)
        newest = _ids(query.order_by(*order_terms(DEFAULT_ORDER)))
        return due + [i for i in newest if i not in timed]
    return _ids(query.order_by(*order_terms(order)))


def _ids(query: peewee.Select) -> list[int]:
    # Straight from the cursor: peewee's per-row processing doubled the time at 100,000 rows.
    sql, params = query.sql()
    cursor = Conversation._meta.database.execute_sql(sql, params)
    return [conversation_id for (conversation_id,) in cursor.fetchall()]


HEAD_WINDOW = 2000  # the newest conversations of the filter that `first_conversation_ids` tries


def first_conversation_ids(
    rows: int,
    status: str = "open",
    channel: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    tag: str | None = None,
    type: str | None = None,
    field: str | None = None,
) -> list[int] | None:
    """The start of `conversation_ids`' list (at least `rows` ids, in the same order) when a
    search matches many conversations, found among the filter's newest HEAD_WINDOW only; None
    when they hold fewer than `rows` matches (then the whole list is cheap to gather) and
    when there is nothing to search.

    A search matching most of the desk (one typed letter) needs its whole set of matches
    gathered before the list's order can be walked: 90-100 ms at 100,000 conversations, where
    the first screenful of it is here in a few. Matches outside the window come after every
    row inside it, so what is returned is exactly the list's first rows.
    """
    search = (search or "").strip()
    if not search or re.fullmatch(r"#\d{1,12}", search):
        return None
    window = narrowed(
        Conversation.select(Conversation.id),
        status,
        channel,
        None,
        assignee=assignee,
        tag=tag,
        type=type,
        field=field,
    )
    window = window.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(
        HEAD_WINDOW
    )
    query = (
        Conversation.select(Conversation.id)
        .where(Conversation.id.in_(window) & search_condition(search, within=window))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    sql, params = query.sql()
    ids = [i for (i,) in Conversation._meta.database.execute_sql(sql, params).fetchall()]
    return ids if len(ids) >= rows else None


def interrupter() -> Callable[[], None]:
    """What ends this thread's running query from another thread (the UI's, when a newer
    search makes its answer useless), on either engine (`store.cancel`). The query then fails
    with an error `was_interrupted` recognises; with nothing running it does nothing."""
    return cancel.canceller()


def was_interrupted(exc: BaseException) -> bool:
    return cancel.was_cancelled(exc)


def conversation_rows(ids: list[int]) -> list[dict[str, Any]]:
    """What the list draws for these conversations, in the order given (missing ids dropped)."""
    if not ids:
        return []
    query = (
        Conversation.select(
            Conversation.id,
            Conversation.subject,
            Conversation.status,
            Conversation.priority,
            Conversation.assignee,
            Conversation.unread,
            Conversation.message_count,
            Conversation.updated_at,
            Conversation.due_at,
            Conversation.warn_at,
            Conversation.due_target,
            Channel.name,
            Contact.email,
            Contact.name,
        )
        .join(Channel)
        .switch(Conversation)
        .join(Contact, peewee.JOIN.LEFT_OUTER)
        .where(Conversation.id.in_(ids))
        .tuples()
    )
    found: dict[int, dict[str, Any]] = {}
    for row in query:
        cid, subject, status, priority, assignee, unread, count, updated = row[:8]
        due_at, warn_at, due_target, chan, email, name = row[8:]
        found[cid] = {
            "id": cid,
            "subject": subject,
            "status": status,
            "priority": priority,
            "assignee": assignee,
            "unread": bool(unread),
            "messages": count,
            "updated_at": iso(updated),
            "channel": chan,
            "contact": email,
            "contact_name": name or "",
            "due_at": due_at,  # a naive-UTC datetime: the list marks it against its clock
            "warn_at": warn_at,
            "due_target": due_target,
        }
    return [found[i] for i in ids if i in found]


def several_channels() -> bool:
    """Whether the desk has more than one channel (the list then names each row's)."""
    return Channel.select(Channel.id).limit(2).count() > 1


def status_counts(channel: str | None = None) -> dict[str, int]:
    """Conversations per status (and "all"), for the list's filter bar; one GROUP BY."""
    query = Conversation.select(Conversation.status, peewee.fn.COUNT(Conversation.id))
    if channel:
        query = query.where(Conversation.channel == channels.get(channel))
    counts = dict.fromkeys(lifecycle.STATUSES, 0)
    counts.update(dict(query.group_by(Conversation.status).tuples()))
    counts["all"] = sum(counts.values())
    return counts
