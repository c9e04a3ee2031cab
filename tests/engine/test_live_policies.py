"""The desk's policies announce their changes on PostgreSQL (issue 16): an admin's rule, SLA
policy, macro, type or field written on one connection is heard by another agent's follower,
so their open Policies screen follows; a desk made before gets the triggers by migrating."""

from __future__ import annotations

import pytest

from deskterm.desk import macros, sla, sla_policies, types
from deskterm.desk.rules import rulebook, rulefile
from deskterm.store import connection, live_triggers, migrations
from deskterm.store.live import Change, PgListener
from tests.engine.test_live import Heard, in_other_thread, listening, pg_channel, wait_for

__all__ = ["listening", "pg_channel"]  # the fixtures, shared with test_live

RULE = 'name = "vip"\n[when]\nfrom_domain = "example.com"\n[then]\npriority = "high"\n'


def _triggers(table: str) -> set[str]:
    """The table's notifying triggers (not the report's, store/outcome_stale.py)."""
    database = connection.open_database()
    cursor = database.execute_sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        (table,),
    )
    return {name for (name,) in cursor.fetchall() if "_live_" in name}


@pytest.mark.postgres
def test_each_policy_change_by_another_admin_is_heard(
    listening: tuple[PgListener, Heard],
) -> None:
    _, heard = listening
    in_other_thread(lambda: rulebook.add(rulefile.parse_text(RULE)))
    wait_for(lambda: Change("routing_rule", "insert", None) in heard.seen(), "the rule")
    in_other_thread(lambda: rulebook.move("vip", 1))
    in_other_thread(lambda: rulebook.remove("vip"))
    wait_for(lambda: Change("routing_rule", "delete", None) in heard.seen(), "its removal")

    terms = sla_policies.Terms(first_response="4h")
    in_other_thread(lambda: sla.add_policy("standard", terms))
    wait_for(lambda: Change("sla_policy", "insert", None) in heard.seen(), "the SLA policy")

    in_other_thread(lambda: macros.save("close", [("status", "closed")]))
    wait_for(lambda: Change("macro", "insert", None) in heard.seen(), "the macro")
    in_other_thread(lambda: macros.save("close", [("status", "resolved")]))
    wait_for(lambda: Change("macro", "update", None) in heard.seen(), "its edit")

    def a_type_and_field() -> None:
        types.add("billing")
        types.add_field("billing", "order", "text")

    in_other_thread(a_type_and_field)
    wait_for(lambda: Change("type_field", "insert", None) in heard.seen(), "the field")
    assert Change("conversation_type", "insert", None) in heard.seen()


@pytest.mark.postgres
def test_a_desk_made_before_gets_the_policy_triggers_by_migrating(pg_channel: object) -> None:
    database = connection.open_database()
    for table in live_triggers.POLICY_TABLES:  # as a desk of the version before had them
        for event in live_triggers.EVENTS:
            name = live_triggers.trigger_name(table, event)
            database.execute_sql(f'DROP TRIGGER "{name}" ON "{table}"')
        assert _triggers(table) == set()
    latest = len(migrations.MIGRATIONS)
    before = migrations.MIGRATIONS.index(migrations._v16_policies_announced)
    migrations.SchemaVersion.update(version=before).execute()
    assert migrations.migrate(database) == latest
    for table in live_triggers.POLICY_TABLES:
        assert _triggers(table) == {
            live_triggers.trigger_name(table, event) for event in live_triggers.EVENTS
        }
