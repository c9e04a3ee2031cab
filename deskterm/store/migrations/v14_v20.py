"""Schema versions 14 to 20: what the reports need (status history and time spent, who wrote
each reply, the report index, first responses on the conversation, the kept outcomes and
their indexes), an SQLite desk's presence in its own file, and the policies' changes
announced on PostgreSQL."""

from __future__ import annotations

import peewee

from deskterm.store import db as dbmod
from deskterm.store.migrations.v1_v6 import _unbounded_text


def _v14_time_spent(database: peewee.Database) -> None:
    """Time spent per conversation, and each status change kept (reports: backlog over time,
    resolution times). A conversation already past open gets one change to its status now,
    dated at its latest activity (`updated_at`): the best the desk knows, so the backlog of
    an older desk ends at its real count of open and pending conversations."""
    from deskterm.store import live_triggers
    from deskterm.store.models import StatusChange, TimeEntry

    new = [StatusChange, TimeEntry]
    fresh = [m for m in new if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)
    if StatusChange in fresh:
        database.execute_sql(
            'INSERT INTO "status_change" (conversation_id, old_status, new_status, changed_at) '
            "SELECT id, 'open', status, updated_at FROM conversation WHERE status <> 'open'"
        )
    if not dbmod.is_sqlite(database):  # other agents' apps hear time logged (thread header)
        for statement in live_triggers.statements(["time_entry"]):
            database.execute_sql(statement)


def _v15_reply_authors_and_quiet_presence(database: peewee.Database) -> None:
    """Who wrote each outgoing mail (`message.agent`, a handle; the replies already sent stay
    unknown), presence out of an SQLite desk's file (store/presence_file.py: its beats made
    every app reload its list), and a PostgreSQL desk announcing changes to its agents, so
    each app forgets the agent it had read (desk/agents.py caches it)."""
    from deskterm.store import live_triggers, presence_file
    from deskterm.store.models import Agent, Message

    table = Message._meta.table_name
    if "agent" not in {c.name for c in database.get_columns(table)}:  # v1 made from models
        text = "TEXT" if not dbmod.is_sqlite(database) else "VARCHAR(255)"
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "agent" {text}')
    if dbmod.is_sqlite(database):
        presence_file.install(database)
    else:
        for statement in live_triggers.statements([Agent._meta.table_name]):
            database.execute_sql(statement)


def _v16_policies_announced(database: peewee.Database) -> None:
    """Routing rules, SLA policies, macros, types and fields announce their changes on a
    PostgreSQL desk (store/live_triggers.py `POLICY_TABLES`), so another agent's open
    Policies screen shows an admin's edit at once. No new table; SQLite needs nothing (its
    apps see every commit). A desk made at this version got them in v8 already: a re-run
    replaces them."""
    from deskterm.store import live_triggers

    if dbmod.is_sqlite(database):
        return
    tables = [t for t in live_triggers.POLICY_TABLES if database.table_exists(t)]
    for statement in live_triggers.statements(tables):
        database.execute_sql(statement)


def _v17_report_index(database: peewee.Database) -> None:
    """What a report groups conversations by, in one index led by their creation
    (desk/reports.py, desk/report_breakdown.py): a year's new conversations are then read from
    the index's range alone, not from the table's wide rows (at 100,000 conversations: the
    year's COUNT 35 ms to 4 ms on SQLite). Its cost is one more index entry per conversation
    written, moved when its assignee or type changes."""
    database.execute_sql(
        'CREATE INDEX IF NOT EXISTS "conversation_report" ON "conversation" '
        '("created_at", "channel_id", "assignee", "type_id", "contact_id")'
    )


def _v18_first_responses_recorded(database: peewee.Database) -> None:
    """Every answered conversation's first response on the conversation itself: reports read
    it there (desk/reports.py) instead of finding each conversation's first reply among its
    messages. Replies queued since v11 set it (desk/sla.py `first_response`); the
    conversations answered before get their first agent reply's date, cancelled ones aside.
    The report's covering index (v17) gains it, the SLA policy and the status, so a year's
    first responses are read from the index alone (at 100,000 conversations on SQLite: their
    count 132 ms to 10 ms, the durations 142 ms to 22 ms)."""
    from deskterm.store.models import Conversation, Message, Outbox

    database.execute_sql('DROP INDEX IF EXISTS "conversation_report"')
    database.execute_sql(
        'CREATE INDEX "conversation_report" ON "conversation" ("created_at", "channel_id", '
        '"assignee", "type_id", "contact_id", "first_response_at", "sla_policy", "status")'
    )

    conversation, message = Conversation._meta.table_name, Message._meta.table_name
    outbox = Outbox._meta.table_name
    database.execute_sql(
        f'UPDATE "{conversation}" SET "first_response_at" = ('
        f'SELECT MIN(m."date") FROM "{message}" AS m JOIN "{outbox}" AS o '
        'ON o."message_id" = m."id" '
        f'WHERE m."conversation_id" = "{conversation}"."id" AND m."direction" = \'out\' '
        "AND o.\"kind\" = 'reply' AND o.\"state\" <> 'cancelled') "
        'WHERE "first_response_at" IS NULL'
    )


def _v19_outcomes_kept(database: peewee.Database) -> None:
    """Each conversation's counted first response and resolution, kept for the reports
    (store/models/reports.py `Outcome`, desk/report_outcomes.py): a year's report at 100,000
    conversations counted every one of them in business hours each time (a calendar lookup
    per moment, eight per conversation), most of its time. A desk upgraded has none yet: its
    first report counts them all, the next ones only what changed."""
    from deskterm.store.models import Outcome

    database.create_tables([Outcome], safe=True)


def _v20_outcomes_grouped(database: peewee.Database) -> None:
    """Each kept outcome also keeps what a report groups and filters its conversation by (its
    creation, whether it is resolved now, assignee, organization, channel, type), and every
    conversation has one (store/models/reports.py `Outcome`): a report reads this one table
    instead of joining the conversations, their outcomes and their contacts. The rows are
    the reports' own counting, so the table is made anew; the next report counts them all,
    and later ones only the conversations the database marks (store/outcome_stale.py: a
    queue and its triggers; comparing every conversation with its row cost each report
    140-190 ms at 100,000).

    On SQLite, an index per breakdown key ordered by each duration, holding the period's
    columns and the other keys (store/percentiles walks one to each percentile): a year's
    report sorted its 90,000 first responses once per key instead (SQLite has no ordered-set
    aggregate). PostgreSQL ranks with percentile_disc and needs none."""
    from deskterm.store import outcome_stale
    from deskterm.store.models import Outcome

    database.drop_tables([Outcome], safe=True)
    database.create_tables([Outcome], safe=True)
    # Which conversations' rows are out of date: all of them now; triggers mark the rest.
    for statement in outcome_stale.statements(dbmod.is_sqlite(database)):
        database.execute_sql(statement)
    # Time spent by when it started, with what a report reads of each entry: a year's sum
    # per agent, organization, channel and type read the entries from the index alone (at
    # 40,000 entries on SQLite 120 ms to 79 ms, the sum per week 40 ms to 15 ms).
    database.execute_sql('DROP INDEX IF EXISTS "time_entry_started_at"')
    database.execute_sql(
        'CREATE INDEX IF NOT EXISTS "time_entry_report" ON "time_entry" '
        '("started_at", "conversation_id", "agent", "seconds")'
    )
    keys = ("assignee", "organization", "channel", "type_id")
    # The SLA section's reads by when a target was reached or fell due, from narrow indexes
    # instead of the wide rows (at 100,000 on SQLite: the first responses' verdicts per week
    # 70 to 45 ms, the overdue ones per week and key 96 to 73 ms).
    for name, columns in (
        ("first_at", ("first_at", "first_late")),
        ("due", ("due_target", "due_at", *keys)),
    ):
        database.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "outcome_{name}" ON "conversation_outcome" '
            f"({', '.join(columns)})"
        )
    if not dbmod.is_sqlite(database):
        _unbounded_text(database, [Outcome])  # the assignee's handle
        return
    for name, duration, period in (
        ("first", "first_seconds", ("created_at",)),
        ("done", "done_seconds", ("done", "done_at")),
    ):
        for key in ("all", *keys):
            columns = [duration, *period, *keys] if key == "all" else [key, duration, *period]
            columns += [k for k in keys if k not in columns]
            database.execute_sql(
                f'CREATE INDEX IF NOT EXISTS "outcome_{name}_{key}" ON "conversation_outcome" '
                f"({', '.join(columns)}) WHERE {duration} IS NOT NULL"
            )
