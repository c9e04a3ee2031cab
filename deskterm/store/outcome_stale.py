"""Which conversations' kept report outcomes are out of date: a queue the database itself
fills (issue 17: a year's report at 100,000 conversations in a second).

desk/report_outcomes.py keeps each conversation's counted first response and resolution with
what a report groups it by. Finding the out-of-date ones by comparing every conversation
with its kept row cost each report a join of every conversation with its row, its contact
and its last resolution (140-190 ms at 100,000). Instead triggers put a conversation's id in
`outcome_stale` whenever something its row is counted from changes: the conversation's own
columns (WATCHED), its status changes, its contact's organization, an SLA policy (made,
edited, removed: the conversations under that id). Triggers, so every writer (the engine, a
worker on another machine, an admin's SQL) marks without knowing; a report counts the
marked conversations only and takes them off the queue in the same transaction.

Taking them off without losing a mark made meanwhile: on SQLite the count and the removal run
under the report's write lock (writers wait); on PostgreSQL one statement removes the marks
it sees and counts those conversations from the same snapshot (a data-modifying WITH): a
mark committed after it stays for the next report.
"""

from __future__ import annotations

import peewee
from peewee import SQL, fn

from deskterm.store.db import database, is_sqlite
from deskterm.store.models import Conversation, Outcome

TABLE = "outcome_stale"
# The conversation columns a kept outcome is counted or grouped from.
WATCHED = (
    "channel_id",
    "contact_id",
    "status",
    "assignee",
    "created_at",
    "type_id",
    "sla_policy",
    "sla_started_at",
    "first_response_at",
    "sla_paused_seconds",
    "due_at",
    "due_target",
)
FUNCTION = "deskterm_outcome_stale"


class Stale(peewee.Model):
    """A conversation whose kept outcome must be counted again (no foreign key: a mark of a
    conversation since removed is dropped with the queue)."""

    conversation = peewee.BigIntegerField(primary_key=True, column_name="conversation_id")

    class Meta:
        database = database
        table_name = TABLE


def statements(sqlite: bool) -> list[str]:
    """The queue, every conversation on it (a desk upgraded counts them all once), and the
    triggers that mark, for one engine."""
    everyone = f'INTO "{TABLE}" ("conversation_id") SELECT "id" FROM "conversation"'
    out = [
        f'CREATE TABLE IF NOT EXISTS "{TABLE}" ("conversation_id" BIGINT NOT NULL PRIMARY KEY)',
        f"INSERT OR IGNORE {everyone}" if sqlite else f"INSERT {everyone} ON CONFLICT DO NOTHING",
    ]
    return out + (_sqlite_triggers() if sqlite else _postgres_triggers())


def _sqlite_triggers() -> list[str]:
    def mark(name: str, event: str, ids: str, when: str = "") -> str:
        return (
            f'CREATE TRIGGER IF NOT EXISTS "{name}" AFTER {event} {when}'
            f'BEGIN INSERT OR IGNORE INTO "{TABLE}" ("conversation_id") {ids}; END'
        )

    changed = " OR ".join(f'old."{c}" IS NOT new."{c}"' for c in WATCHED)
    under = 'SELECT "id" FROM "conversation" WHERE "sla_policy" = {}."id"'
    return [
        mark("outcome_stale_new", 'INSERT ON "conversation"', "VALUES (new.id)"),
        mark("outcome_stale_changed", 'UPDATE ON "conversation"', "VALUES (new.id)",
             f"FOR EACH ROW WHEN {changed} "),
        mark("outcome_stale_status_new", 'INSERT ON "status_change"',
             "VALUES (new.conversation_id)"),
        mark("outcome_stale_status_gone", 'DELETE ON "status_change"',
             "VALUES (old.conversation_id)"),
        mark("outcome_stale_status_changed", 'UPDATE ON "status_change"',
             "VALUES (old.conversation_id), (new.conversation_id)"),
        mark("outcome_stale_organization", 'UPDATE OF "organization_id" ON "contact"',
             'SELECT "id" FROM "conversation" WHERE "contact_id" = new."id"',
             'FOR EACH ROW WHEN old."organization_id" IS NOT new."organization_id" '),
        mark("outcome_stale_policy_new", 'INSERT ON "sla_policy"', under.format("new")),
        mark("outcome_stale_policy_gone", 'DELETE ON "sla_policy"', under.format("old")),
        mark("outcome_stale_policy_changed", 'UPDATE ON "sla_policy"',
             f"{under.format('old')} UNION {under.format('new')}"),
    ]  # fmt: skip


def _postgres_triggers() -> list[str]:
    ids = {
        "conversation": "SELECT NEW.id",
        "status_change": (
            "SELECT c FROM unnest(ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.conversation_id END,"
            " CASE WHEN TG_OP <> 'DELETE' THEN NEW.conversation_id END]) AS c"
            " WHERE c IS NOT NULL"
        ),
        "contact": 'SELECT "id" FROM "conversation" WHERE "contact_id" = NEW.id',
        "sla_policy": (
            'SELECT "id" FROM "conversation" WHERE "sla_policy" IN '
            "(CASE WHEN TG_OP <> 'INSERT' THEN OLD.id END, "
            "CASE WHEN TG_OP <> 'DELETE' THEN NEW.id END)"
        ),
    }
    branches = " ".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_TABLE_NAME = '{table}' THEN "
        f'INSERT INTO "{TABLE}" ("conversation_id") {select} ON CONFLICT DO NOTHING;'
        for i, (table, select) in enumerate(ids.items())
    )
    changed = " OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in WATCHED)
    triggers = {
        "outcome_stale_new": 'AFTER INSERT ON "conversation"',
        "outcome_stale_changed": f'AFTER UPDATE ON "conversation" FOR EACH ROW WHEN ({changed})',
        "outcome_stale_status": 'AFTER INSERT OR UPDATE OR DELETE ON "status_change"',
        "outcome_stale_organization": (
            'AFTER UPDATE OF "organization_id" ON "contact" FOR EACH ROW '
            'WHEN (OLD."organization_id" IS DISTINCT FROM NEW."organization_id")'
        ),
        "outcome_stale_policy": 'AFTER INSERT OR UPDATE OR DELETE ON "sla_policy"',
    }
    out = [
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        f"BEGIN {branches} END IF; RETURN NULL; END $fn$"
    ]
    for name, event in triggers.items():
        each = "" if "FOR EACH ROW" in event else " FOR EACH ROW"
        table = event.split(" ON ")[1].split(" ")[0].strip('"')
        out.append(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
        out.append(f'CREATE TRIGGER "{name}" {event}{each} EXECUTE FUNCTION {FUNCTION}()')
    return out


def mark_missing() -> None:
    """Mark the conversations that have no kept row (removed by hand, or lost): seen by two
    counts (a conversation's row goes with it, so equal counts mean every one has its row),
    found by a join only when they differ."""
    if Outcome.select().count() == Conversation.select().count():
        return
    missing = Conversation.select(Conversation.id).where(
        ~fn.EXISTS(Outcome.select(SQL("1")).where(Outcome.conversation == Conversation.id))
    )
    Stale.insert_from(missing, [Stale.conversation]).on_conflict_ignore().execute()


def count_marked(counted: peewee.SelectQuery, conversation_id: peewee.Node, upsert) -> int:
    """Run `upsert(query)` (an INSERT ... SELECT of kept rows) over `counted` narrowed to the
    marked conversations (joined on `conversation_id`), and take them off the queue; returns
    how many rows it wrote."""
    if is_sqlite(database.obj):
        # The upsert takes the write lock before it reads the queue: no mark comes between
        # it and the removal.
        marked = counted.join_from(counted.model, Stale, on=(Stale.conversation == conversation_id))
        written = upsert(marked)
        Stale.delete().execute()
        return written
    gone = Stale.delete().returning(Stale.conversation).cte("gone", columns=("cid",))
    marked = counted.join_from(counted.model, gone, on=(gone.c.cid == conversation_id))
    return upsert(marked, gone)
