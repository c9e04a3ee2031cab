"""What the desk's Policies editors need of the engine (issue 16), on SQLite and PostgreSQL:
a stored rule written back as the rule file it came from, an SLA policy replaced whole or
not at all, a macro renamed in one transaction."""

from __future__ import annotations

import pytest

from deskterm.desk import macros, sla, sla_policies
from deskterm.desk.rules import rulebook, rulefile
from deskterm.errors import ConfigError
from deskterm.store.models import Channel

RULE = """\
name = "billing"
channel = "support"
replies = true
match = "any"

[when]
from_domain = ["example.com", "example.org"]
subject_regex = 'invoice|order #\\d+'

[unless]
automated = "any"

[then]
priority = "high"
tags = ["billing", "vip"]
"""


@pytest.fixture
def channel(engine_channel: Channel) -> Channel:
    """The draft channel on each engine's desk (tests/conftest.py `engine`)."""
    return engine_channel


def test_a_stored_rule_is_written_back_as_the_rule_file_it_came_from(channel: Channel) -> None:
    checked = rulefile.parse_text(RULE)
    row = rulebook.add(checked)
    text = rulefile.to_text(rulebook.describe(row))
    assert rulefile.parse_text(text) == checked
    assert 'subject_regex = ["invoice|order #\\\\d+"]' in text


def test_an_sla_policy_is_replaced_whole_or_not_at_all(channel: Channel) -> None:
    sla.add_policy("standard", sla_policies.Terms(first_response="4h"))
    sla.add_policy("urgent", sla_policies.Terms(priority="high", first_response="1h"))
    with pytest.raises(ConfigError, match="already covers the same conversations"):
        terms = sla_policies.Terms(priority="high", first_response="2h")
        sla.replace_policy("standard", "standard", terms)
    kept = sla_policies.get("standard")
    assert (kept.priority, kept.first_response_minutes) == (None, 240)
    sla.replace_policy("standard", "normal", sla_policies.Terms(resolution="8h"))
    assert [p.name for p in sla_policies.all_policies()] == ["normal", "urgent"]
    assert sla_policies.get("normal").resolution_minutes == 480


def test_a_macro_is_renamed_in_one_step_and_never_over_another(channel: Channel) -> None:
    macros.save("close", [("status", "closed")])
    macros.save("park", [("status", "pending")])
    with pytest.raises(ConfigError, match="already a macro named 'park'"):
        macros.save("park", [("status", "resolved")], renaming="close")
    assert [m.name for m in macros.all_macros()] == ["close", "park"]
    macros.save("resolve", [("status", "resolved")], renaming="close")
    assert [m.name for m in macros.all_macros()] == ["park", "resolve"]
    assert macros.actions_of(macros.get("resolve")) == [("status", "resolved")]
