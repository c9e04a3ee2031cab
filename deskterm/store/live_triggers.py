"""What a PostgreSQL desk announces when it changes: one NOTIFY per written statement.

Agents' apps learn that another agent (or a worker on another machine) changed the desk from
PostgreSQL itself: AFTER ... FOR EACH STATEMENT triggers on the tables an agent sees call
`pg_notify` with a small JSON payload, so every write path (the batch writer, the ORM, the
outbox, a later admin script) announces itself without knowing. Statement-level with a
transition table, so that one statement over many rows (a bulk triage of 500 marked
conversations, a cascade) is one notification naming up to `MAX_IDS` conversations, not
hundreds. The batch writer inserts a row per statement on PostgreSQL (it needs each new id from
RETURNING), so past `MAX_PER_TRANSACTION` notifications a transaction's further ones say "many",
and PostgreSQL folds those equal payloads into one.
PostgreSQL delivers them at commit, once per distinct payload, and never for a rolled-back
transaction.

The payload, never mail content: `{"t": table, "k": "insert"|"update"|"delete", "c": [ids]}`
with the conversation ids the statement touched, or `"c": null` when there were more than
`MAX_IDS` of them (or they could not be told, or the table is a policy's, `POLICY_TABLES`).
At most a few hundred bytes, far under the 8000 that NOTIFY allows. `deskterm.store.live` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable

CHANNEL = "deskterm_desk"  # the LISTEN/NOTIFY channel of a desk's database
MAX_IDS = 20  # conversation ids named in one notification; beyond, "many" (null)
# Notifications naming conversations, per transaction; the rest say "many" (and PostgreSQL
# sends equal payloads of a transaction once). The batch writer inserts row by row on
# PostgreSQL (it needs each new id), so a batch of 500 mails is 500 statements.
MAX_PER_TRANSACTION = 20
_COUNTER = "deskterm.live_sent"  # a transaction-local setting: notifications named so far
FUNCTION = "deskterm_live_notify"

# How each table's rows name their conversation, as an SQL expression over the transition
# table `changed` (passed to the trigger function as its argument).
CONVERSATION_OF = {
    "conversation": "changed.id",
    "message": "changed.conversation_id",
    "note": "changed.conversation_id",
    "conversation_tag": "changed.conversation_id",
    "time_entry": "changed.conversation_id",
    "mention": "(SELECT n.conversation_id FROM note n WHERE n.id = changed.note_id)",
    "outbox": "(SELECT m.conversation_id FROM message m WHERE m.id = changed.message_id)",
    "field_value": "changed.conversation_id",
    # No conversation: an app hears it to forget the agent it had read (desk/agents.py).
    "agent": "NULL::bigint",
}
# The desk's policies, which an agent's open Policies screen shows (and the list's due times
# follow): their rows name no conversation, so the payload's "c" is null, "reload what you
# show". A desk made before they announced themselves gets their triggers in migration v16.
POLICY_TABLES = ("routing_rule", "sla_policy", "macro", "conversation_type", "type_field")
CONVERSATION_OF.update(dict.fromkeys(POLICY_TABLES, "NULL::bigint"))
EVENTS = {"INSERT": "NEW", "UPDATE": "NEW", "DELETE": "OLD"}  # and the transition table each has

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    touched boolean;
    ids bigint[];
    sent integer;
BEGIN
    -- A statement-level trigger fires for an UPDATE that matched nothing, too: stay quiet.
    SELECT EXISTS (SELECT 1 FROM changed) INTO touched;
    IF NOT touched THEN
        RETURN NULL;
    END IF;
    sent := coalesce(nullif(current_setting('{_COUNTER}', true), ''), '0')::integer;
    IF sent < {MAX_PER_TRANSACTION} THEN
        -- The argument is ours (CONVERSATION_OF), set when the trigger was made.
        EXECUTE 'SELECT array_agg(c) FROM (SELECT DISTINCT ' || TG_ARGV[0]
            || ' AS c FROM changed) found WHERE c IS NOT NULL' INTO ids;
        IF cardinality(ids) > {MAX_IDS} THEN
            ids := NULL;
        END IF;
        PERFORM set_config('{_COUNTER}', (sent + 1)::text, true);
    END IF;
    -- ids NULL: many (a batch), or none that can be told: "anything may have changed". Past
    -- the transaction's quota the payload is always the same, and PostgreSQL sends it once.
    PERFORM pg_notify(
        '{CHANNEL}',
        json_build_object('t', TG_TABLE_NAME, 'k', lower(TG_OP), 'c', ids)::text
    );
    RETURN NULL;
END
$fn$
"""


def trigger_name(table: str, event: str) -> str:
    return f"{table}_live_{event.lower()}"


def statements(tables: Iterable[str] | None = None) -> list[str]:
    """The SQL that makes a PostgreSQL desk announce its changes (idempotent: a re-run
    replaces the function and the triggers), for every table of CONVERSATION_OF or only
    those named (a migration adds the triggers of the tables it makes)."""
    out = [_FUNCTION_SQL]
    chosen = CONVERSATION_OF if tables is None else {t: CONVERSATION_OF[t] for t in tables}
    for table, expression in chosen.items():
        argument = expression.replace("'", "''")
        for event, side in EVENTS.items():
            name = trigger_name(table, event)
            out.append(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
            out.append(
                f'CREATE TRIGGER "{name}" AFTER {event} ON "{table}" '
                f"REFERENCING {side} TABLE AS changed FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {FUNCTION}('{argument}')"
            )
    return out
