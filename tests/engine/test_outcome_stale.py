"""store/outcome_stale: the database marks a conversation whose kept report outcome is out of
date, whoever writes (here: plain model writes, as another machine or an admin's SQL would),
and only then; a report counts the marked ones and empties the queue. Both engines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import report_outcomes, report_sla
from deskterm.store import connection
from deskterm.store.db import database, is_sqlite
from deskterm.store.models import (
    Contact,
    Conversation,
    Organization,
    Outcome,
    SlaPolicy,
    StatusChange,
)
from deskterm.store.outcome_stale import Stale


@pytest.fixture
def drained(engine: str) -> Conversation:
    """The demo desk after a report counted everything: the queue is empty. Returns a
    conversation of a contact with more than one."""
    demo.build_demo(now=demo.ANCHOR, history=True)
    connection.open_database()
    assert _marked() == set(c.id for c in Conversation.select())  # a new desk: every one
    _count()
    assert _marked() == set()
    return next(c for c in Conversation.select() if c.contact.conversations.count() > 1)


def _marked() -> set[int]:
    return {s.conversation for s in Stale.select()}


def _count() -> int:
    until = demo.ANCHOR.replace(tzinfo=None) + timedelta(days=30)
    return report_outcomes.bring_up_to_date(report_sla.Counter(until))


def _policy() -> SlaPolicy:
    return SlaPolicy.create(name="standard", first_response_minutes=60, timezone="UTC")


CHANGES: dict[str, Callable[[Conversation], object]] = {
    "assignee": lambda c: Conversation.update(assignee="kim").where(Conversation.id == c.id),
    "status": lambda c: Conversation.update(status="closed").where(Conversation.id == c.id),
    "first response": lambda c: Conversation.update(
        first_response_at=c.created_at + timedelta(minutes=7)
    ).where(Conversation.id == c.id),
    "due time": lambda c: Conversation.update(due_at=demo.ANCHOR).where(Conversation.id == c.id),
    "status change": lambda c: StatusChange.insert(
        conversation=c.id, old_status="open", new_status="resolved", changed_at=demo.ANCHOR
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_a_report_counts_from_marks_its_conversation(
    drained: Conversation, change: str
) -> None:
    CHANGES[change](drained).execute()
    assert _marked() == {drained.id}
    assert _count() == 1
    assert _marked() == set()


def test_a_change_a_report_does_not_count_from_marks_nothing(drained: Conversation) -> None:
    Conversation.update(unread=not drained.unread, subject="Renamed").where(
        Conversation.id == drained.id
    ).execute()
    assert _marked() == set()


def test_the_contact_s_organization_marks_each_of_its_conversations(
    drained: Conversation,
) -> None:
    org = Organization.create(name="Marked Ltd")
    Contact.update(organization=org.id).where(Contact.id == drained.contact_id).execute()
    theirs = {c.id for c in Conversation.select().where(Conversation.contact == drained.contact)}
    assert len(theirs) > 1 and _marked() == theirs
    _count()
    assert {o.organization for o in Outcome.select().where(Outcome.conversation.in_(theirs))} == {
        org.id
    }


def test_a_policy_made_edited_or_removed_marks_the_conversations_under_it(
    drained: Conversation,
) -> None:
    policy = _policy()
    assert _marked() == set()  # nobody is under it yet
    Conversation.update(sla_policy=policy.id).where(Conversation.id == drained.id).execute()
    _count()
    SlaPolicy.update(first_response_minutes=5).where(SlaPolicy.id == policy.id).execute()
    assert _marked() == {drained.id}
    _count()
    SlaPolicy.delete().where(SlaPolicy.id == policy.id).execute()
    assert _marked() == {drained.id}
    _count()
    # On SQLite a new policy may take the removed one's id: its conversations are marked.
    SlaPolicy.insert(
        id=policy.id, name="again", resolution_minutes=60, timezone="UTC", created_at=demo.ANCHOR
    ).execute()
    assert _marked() == {drained.id}


def test_a_kept_row_lost_is_counted_again(drained: Conversation) -> None:
    Outcome.delete().where(Outcome.conversation == drained.id).execute()
    assert _count() == 1
    assert Outcome.get_by_id(drained.id).created_at == drained.created_at


def test_a_conversation_removed_without_foreign_keys_takes_its_row(drained: Conversation) -> None:
    """An admin's sqlite3 shell has foreign keys off: the cascade does not run, the trigger
    does (PostgreSQL always cascades)."""
    if not is_sqlite(database.obj):
        pytest.skip("PostgreSQL enforces its foreign keys")
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        Conversation.delete().where(Conversation.id == drained.id).execute()
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")
    assert Outcome.get_or_none(Outcome.conversation == drained.id) is None


def test_a_mark_renewed_while_a_report_counts_stays_for_the_next(
    drained: Conversation, engine: str
) -> None:
    """PostgreSQL: an agent changes a conversation already marked while a report takes the
    marks (its transaction still open): the report does not remove the renewed mark, which it
    could not count (its snapshot is older), so the next report counts the change."""
    if engine != "postgres":
        pytest.skip("SQLite's writers wait for the report's write transaction")
    Conversation.update(assignee="before").where(Conversation.id == drained.id).execute()
    assert _marked() == {drained.id}
    agent = connection.url_database(connection.database_url(), "DESKTERM_DATABASE_URL")
    agent.connect()
    agent.execute_sql("BEGIN")
    agent.execute_sql(
        'UPDATE "conversation" SET "assignee" = %s WHERE "id" = %s', ("after", drained.id)
    )  # renews the mark, and holds it until it commits
    counted: list[int] = []
    report = threading.Thread(target=lambda: counted.append(_count()))
    report.start()
    time.sleep(0.5)  # the report waits on the renewed mark
    agent.execute_sql("COMMIT")
    agent.close()
    report.join(timeout=30)
    # It left the renewed mark, so it counted nothing of it (the row is as it was).
    assert counted == [0] and Outcome.get_by_id(drained.id).assignee == drained.assignee
    assert _marked() == {drained.id}
    assert _count() == 1
    assert Outcome.get_by_id(drained.id).assignee == "after"
