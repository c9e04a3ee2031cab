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
in one write transaction taken at its start (IMMEDIATE: writers wait, a few ms). On PostgreSQL
one statement reads the marks with their `seq`, removes exactly those (a data-modifying WITH)
and counts those conversations, all from one snapshot; a writer marking a conversation again
sets a new `seq` (an upsert: it locks the mark until it commits), so a mark that a writer
renewed while the report ran is not removed, and the next report counts that conversation
again. The trigger function runs as the desk's owner (SECURITY DEFINER), so agents' roles
need no rights on the queue to write; a report's role removes marks.

On SQLite a conversation deleted with foreign keys off (an admin's sqlite3 shell) takes its
kept row with it by a trigger too, so a report never counts a conversation that is gone.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee
from peewee import SQL, Tuple, fn

from deskterm.store import dialect
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
SEQUENCE = "outcome_stale_seq"
Upsert = Callable[..., int]


class Stale(peewee.Model):
    """A conversation whose kept outcome must be counted again (no foreign key: a mark of a
    conversation since removed is dropped with the queue)."""

    conversation = peewee.BigIntegerField(primary_key=True, column_name="conversation_id")
    seq = peewee.BigIntegerField(null=True)  # PostgreSQL: renewed by each mark (see above)

    class Meta:
        database = database
        table_name = TABLE


def statements(sqlite: bool) -> list[str]:
    """The queue, every conversation on it (a desk upgraded counts them all once), and the
    triggers that mark, for one engine."""
    everyone = f'INTO "{TABLE}" ("conversation_id") SELECT "id" FROM "conversation"'
    if sqlite:
        return [
            f'CREATE TABLE IF NOT EXISTS "{TABLE}" '
            '("conversation_id" BIGINT NOT NULL PRIMARY KEY, "seq" BIGINT)',
            f"INSERT OR IGNORE {everyone}",
            *_sqlite_triggers(),
        ]
    return [
        f'CREATE SEQUENCE IF NOT EXISTS "{SEQUENCE}"',
        f'CREATE TABLE IF NOT EXISTS "{TABLE}" ("conversation_id" BIGINT NOT NULL PRIMARY KEY, '
        f"\"seq\" BIGINT NOT NULL DEFAULT nextval('{SEQUENCE}'))",
        f"INSERT {everyone} ON CONFLICT DO NOTHING",
        *_postgres_triggers(),
    ]


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
        'CREATE TRIGGER IF NOT EXISTS "outcome_stale_gone" AFTER DELETE ON "conversation" '
        'BEGIN DELETE FROM "conversation_outcome" WHERE "conversation_id" = old.id; END',
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
        f'INSERT INTO "{TABLE}" ("conversation_id", "seq") '
        f"SELECT c, nextval('{SEQUENCE}') FROM ({select}) AS marked (c) "
        'ON CONFLICT ("conversation_id") DO UPDATE SET "seq" = EXCLUDED."seq";'
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
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path FROM CURRENT AS $fn$ "
        f"BEGIN {branches} END IF; RETURN NULL; END $fn$",
    ]
    for name, event in triggers.items():
        each = "" if "FOR EACH ROW" in event else " FOR EACH ROW"
        table = event.split(" ON ")[1].split(" ")[0].strip('"')
        out.append(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
        out.append(f'CREATE TRIGGER "{name}" {event}{each} EXECUTE FUNCTION {FUNCTION}()')
    return out


def recount(counted: peewee.SelectQuery, conversation_id: peewee.Node, upsert: Upsert) -> int:
    """In a write transaction of its own: run `upsert(rows, *ctes)` (an INSERT ... SELECT of
    kept rows) over `counted` narrowed to the marked conversations (joined on
    `conversation_id`), and take them off the queue; returns how many rows it wrote."""
    with database.atomic("IMMEDIATE") if is_sqlite(database.obj) else database.atomic():
        dialect.without_jit()
        _mark_missing()
        if not Stale.select().exists():
            return 0
        if is_sqlite(database.obj):
            marked = counted.join_from(
                counted.model, Stale, on=(Stale.conversation == conversation_id)
            )
            written = upsert(marked)
            Stale.delete().execute()
            return written
        seen = Stale.select(Stale.conversation, Stale.seq).cte("seen")
        gone = (
            Stale.delete()
            .where(
                Tuple(Stale.conversation, Stale.seq).in_(
                    seen.select(seen.c.conversation_id, seen.c.seq)
                )
            )
            .returning(Stale.conversation)
            .cte("gone", columns=("cid",))
        )
        marked = counted.join_from(counted.model, gone, on=(gone.c.cid == conversation_id))
        return upsert(marked, seen, gone)


def _mark_missing() -> None:
    """Mark the conversations that have no kept row (removed by hand, or lost): seen by two
    counts (a conversation's row goes with it, so equal counts mean every one has its row),
    found by a join only when they differ."""
    if Outcome.select().count() == Conversation.select().count():
        return
    missing = Conversation.select(Conversation.id).where(
        ~fn.EXISTS(Outcome.select(SQL("1")).where(Outcome.conversation == Conversation.id))
    )
    Stale.insert_from(missing, [Stale.conversation]).on_conflict_ignore().execute()
