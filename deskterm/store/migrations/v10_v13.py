"""Schema versions 10 to 13: the desk's policies (conversation types and custom fields, SLA
policies and clocks, routing rules, notification templates and macros)."""

from __future__ import annotations

import peewee

from deskterm.store import db as dbmod
from deskterm.store.migrations.v1_v6 import _unbounded_text


def _v10_types_and_fields(database: peewee.Database) -> None:
    """Conversation types and their custom fields (deskterm.desk.types, desk.fields): the
    types, their fields, each conversation's values and its type, and which agents are
    admins (who may define them and change restricted fields). No conversation has a type
    yet, and no agent is an admin: until one is named, every agent counts as one."""
    from deskterm.store import live_triggers
    from deskterm.store.models import Agent, Conversation, ConversationType, FieldValue, TypeField

    new = [ConversationType, TypeField, FieldValue]
    fresh = [m for m in new if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)
    sqlite = dbmod.is_sqlite(database)
    table = Conversation._meta.table_name
    if "type_id" not in {c.name for c in database.get_columns(table)}:  # v1 made from models
        types = ConversationType._meta.table_name
        database.execute_sql(
            f'ALTER TABLE "{table}" ADD COLUMN "type_id" INTEGER '
            f'REFERENCES "{types}" ("id") ON DELETE SET NULL'
        )
    database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_type_id" ON "{table}" ("type_id")')
    agents = Agent._meta.table_name
    if "admin" not in {c.name for c in database.get_columns(agents)}:
        false = "0" if sqlite else "false"
        database.execute_sql(
            f'ALTER TABLE "{agents}" ADD COLUMN "admin" BOOLEAN NOT NULL DEFAULT {false}'
        )
    if not sqlite:  # other agents' apps hear a field's change (store/live_triggers.py)
        for statement in live_triggers.statements([FieldValue._meta.table_name]):
            database.execute_sql(statement)


# The SLA clock's columns on conversation (v11), as each engine spells them.
_SLA_COLUMNS = (
    ("sla_policy", "INTEGER"),
    ("sla_started_at", "{time}"),
    ("first_response_at", "{time}"),
    ("sla_paused_since", "{time}"),
    ("sla_paused_seconds", "INTEGER NOT NULL DEFAULT 0"),
    ("due_at", "{time}"),
    ("due_target", "{text}"),
    ("warn_at", "{time}"),
    ("sla_alert_at", "{time}"),
)


def _v11_sla(database: peewee.Database) -> None:
    """SLA policies, each conversation's SLA clock and due time (stored, so the list sorts by
    due time at 100,000 conversations without computing it per row), and the notices sent.
    Conversations already on the desk get their clock started at their creation; a policy
    counts only from when it was made (desk/sla.py), so none is breached by its arrival."""
    from deskterm.store.models import Conversation, SlaNotice, SlaPolicy

    sqlite = dbmod.is_sqlite(database)
    kinds = {
        "time": "DATETIME" if sqlite else "TIMESTAMP",
        "text": "VARCHAR(255)" if sqlite else "TEXT",
    }
    table = Conversation._meta.table_name
    present = {c.name for c in database.get_columns(table)}
    for column, kind in _SLA_COLUMNS:
        if column not in present:  # v1 made from models already has them
            database.execute_sql(
                f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind.format(**kinds)}'
            )
    database.execute_sql(
        f'UPDATE "{table}" SET "sla_started_at" = "created_at" WHERE "sla_started_at" IS NULL'
    )
    # The list's order by due time (the open tab first), and the worker's look for notices.
    database.execute_sql(
        f'CREATE INDEX IF NOT EXISTS "conversation_due_order" '
        f'ON "{table}" ("status", "due_at", "id")'
    )
    database.execute_sql(
        f'CREATE INDEX IF NOT EXISTS "conversation_sla_alert" ON "{table}" ("sla_alert_at")'
    )
    fresh = [m for m in (SlaPolicy, SlaNotice) if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not sqlite:
        _unbounded_text(database, fresh)


def _v12_routing_rules(database: peewee.Database) -> None:
    """Routing rules (deskterm.desk.rules) and, per message, the rules that matched it. Only
    new tables: a desk made at this version has them from v1 already."""
    from deskterm.store.models import RoutingRule, RuleMatch

    fresh = [m for m in (RoutingRule, RuleMatch) if not database.table_exists(m._meta.table_name)]
    database.create_tables(fresh)
    if fresh and not dbmod.is_sqlite(database):
        _unbounded_text(database, fresh)


def _v13_notifications_and_macros(database: peewee.Database) -> None:
    """Templates per notification kind (a kind and an optional HTML part per template; the
    templates an older desk has are replies, as they were) and macros."""
    from deskterm.store.models import Macro, Template

    table = Template._meta.table_name
    columns = {c.name for c in database.get_columns(table)}
    text = "TEXT" if not dbmod.is_sqlite(database) else "VARCHAR(255)"
    if "kind" not in columns:  # v1 made from models
        database.execute_sql(
            f'ALTER TABLE "{table}" ADD COLUMN "kind" {text} NOT NULL DEFAULT \'reply\''
        )
        database.execute_sql(
            f'UPDATE "{table}" SET "kind" = \'invitation\' WHERE "name" = \'invitation\''
        )
    if "html" not in columns:
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "html" TEXT')
    if not database.table_exists(Macro._meta.table_name):
        database.create_tables([Macro])
        if not dbmod.is_sqlite(database):
            _unbounded_text(database, [Macro])
