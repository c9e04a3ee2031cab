"""Reports (issue 17) on a desk with a known history: the demo's mail and its week of work
(demo/history.py), on SQLite and on the suite's real PostgreSQL. Every expected number is
worked out by hand from the demo's fixed dates (demo/mail/*.eml, ANCHOR = 11 March 2024 12:00).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import report_rows, reports, triage
from deskterm.desk.report_scope import buckets, scope
from deskterm.errors import ConfigError, NotFound
from deskterm.store import connection
from deskterm.store.models import Contact, Conversation, Message, Organization

WEEK = {"since": date(2024, 3, 4), "until": date(2024, 3, 11)}
HOURS = 3600


@pytest.fixture
def history(engine: str) -> None:
    demo.build_demo(now=demo.ANCHOR, history=True)
    connection.open_database()


def test_the_week_of_the_demo_in_numbers(history: None) -> None:
    got = reports.compute(scope(**WEEK))
    assert got["buckets"] == [f"2024-03-{d:02d}" for d in range(4, 12)]
    # 22 conversations (26 mails: an auto-reply skipped, a thread of 4): by their first mail.
    assert got["new"] == {"total": 22, "series": [0, 2, 1, 1, 2, 3, 5, 8]}
    # Replies: 19 on the 5th, 17 on the 6th, 15 on the 7th, 03 and 11 on the 11th.
    assert got["replies"] == {"total": 5, "series": [0, 1, 1, 1, 0, 0, 0, 2]}
    # First responses: 03 35m, 17 1h, 19 2h, 15 4h, 11 48h; nearest rank: 3rd and 5th of 5.
    first = got["first_response"]
    assert (first["answered"], first["unanswered"]) == (5, 17)
    assert (first["median_seconds"], first["p90_seconds"]) == (2 * HOURS, 48 * HOURS)
    # Resolved now: 25 after 1h, 15 after 4h (its reply), 19 closed at ANCHOR after 6d 2h.
    done = got["resolution"]
    assert done["resolved"] == 3
    assert (done["median_seconds"], done["p90_seconds"]) == (4 * HOURS, 146 * HOURS)
    assert done["series"] == [0, 1, 0, 1, 0, 0, 0, 1]
    assert got["sla"]["available"] is False and "SLA" in got["sla"]["note"]
    assert got["skipped"] == {"total": 1, "by_reason": {"auto-submitted": 1}}
    # Time: kim 5m + 10m, sam 15m + 20m, alex 10m + 30m.
    assert got["time_spent"]["total_seconds"] == 90 * 60
    assert got["time_spent"]["series"] == [0, 1200, 600, 1800, 0, 0, 0, 1800]
    spent = {row["agent"]: row["time_seconds"] for row in got["by_agent"]}
    assert spent == {"alex": 2400, "kim": 900, "sam": 2100, None: 0}
    assert {row["channel"]: row["new"] for row in got["by_channel"]} == {"demo": 22}


def test_the_backlog_follows_each_status_change(history: None) -> None:
    backlog = reports.compute(scope(**WEEK))["backlog"]
    # The 5th: 19 and 25 arrive; 25 is resolved at once, 19 answered (pending).
    assert (backlog["open"][1], backlog["pending"][1]) == (0, 1)
    # The 6th: 17 arrives and is answered (pending).
    assert (backlog["open"][2], backlog["pending"][2]) == (0, 2)
    # At the end it is exactly what the desk holds open and pending now.
    now = Conversation.select().where(Conversation.status.in_(("open", "pending")))
    pending = now.where(Conversation.status == "pending").count()
    assert backlog["series"][-1] == now.count() == 19
    assert backlog["pending"][-1] == pending == 3


def test_replies_per_agent_count_who_wrote_them_not_the_assignee(history: None) -> None:
    def replies() -> dict[str | None, int]:
        got = reports.compute(scope(**WEEK))
        return {row["agent"]: row["replies"] for row in got["by_agent"] if row["replies"]}

    # demo/history.py: sam wrote 19 and 03, alex 17 and 15, kim 11.
    assert replies() == {"sam": 2, "alex": 2, "kim": 1}
    invoice = Message.get(Message.agent == "sam", Message.text.contains("corrected invoice"))
    triage.assign(invoice.conversation_id, "kim")  # handing it on does not move sam's reply
    assert replies() == {"sam": 2, "alex": 2, "kim": 1}
    # A reply sent before deskterm recorded its author counts under no agent.
    Message.update(agent=None).where(Message.id == invoice.id).execute()
    assert replies() == {"sam": 1, "alex": 2, "kim": 1, None: 1}


def test_weeks_start_on_monday(history: None) -> None:
    got = reports.compute(scope(date(2024, 2, 28), date(2024, 3, 11), step="week"))
    assert got["buckets"] == ["2024-02-26", "2024-03-04", "2024-03-11"]
    assert got["new"]["series"] == [0, 14, 8]
    assert got["backlog"]["series"][-1] == 19


def test_filters_narrow_every_section(history: None) -> None:
    sams = reports.compute(scope(**WEEK, agent="sam"))
    # Assigned to sam: 03 (invoice, answered after 35m) and 04 (the export thread).
    assert sams["new"]["total"] == 2
    # Written by sam: 19 on the 5th and 03 on the 11th (replies count by their author).
    assert sams["replies"]["total"] == 2
    assert sams["first_response"]["median_seconds"] == 35 * 60
    assert sams["time_spent"]["total_seconds"] == 35 * 60
    assert reports.compute(scope(**WEEK, channel="demo"))["new"]["total"] == 22
    with pytest.raises(NotFound, match="channel list"):
        reports.compute(scope(**WEEK, channel="nope"))
    with pytest.raises(NotFound):
        scope(**WEEK, agent="nobody-here")


def test_a_period_without_activity_says_so_with_zeros(history: None) -> None:
    got = reports.compute(scope(date(2023, 1, 1), date(2023, 1, 31)))
    assert got["new"]["total"] == 0
    assert got["first_response"]["median_seconds"] is None
    assert got["backlog"]["series"] == [0] * 31


def test_rows_name_every_number_once(history: None) -> None:
    got = reports.compute(scope(**WEEK))
    rows = list(report_rows.rows(got))
    keys = [(s, k, m) for s, k, m, _ in rows]
    assert len(keys) == len(set(keys))
    found = {(s, k, m): v for s, k, m, v in rows}
    assert found[("first_response", "", "median_seconds")] == 2 * HOURS
    assert found[("new", "2024-03-11", "count")] == 8
    assert found[("by_agent", "sam", "time_seconds")] == 2100


def test_a_scope_is_checked() -> None:
    with pytest.raises(ConfigError, match="--since before --until"):
        scope(date(2024, 3, 2), date(2024, 3, 1))
    assert scope(date(2024, 1, 1), date(2024, 1, 31)).step == "day"
    assert scope(date(2024, 1, 1), date(2024, 12, 31)).step == "week"
    assert len(buckets(scope(date(2024, 1, 1), date(2024, 12, 31)))) == 53
    assert scope(until=date(2024, 3, 31)).since == date(2024, 3, 2)


def test_a_resolution_counts_until_the_last_time_it_was_resolved(history: None) -> None:
    """Reopened and resolved again: the time runs to the later resolution."""
    [thanks] = Conversation.select().where(Conversation.subject.contains("Thank"))
    triage.set_status(thanks.id, "open")
    triage.set_status(thanks.id, "resolved")  # today: outside the demo's week
    got = reports.compute(scope(**WEEK))
    assert got["resolution"]["resolved"] == 2


def test_an_organization_narrows_the_report_and_its_breakdown_adds_up(history: None) -> None:
    """`--org` and `by_organization` against a plain count of the organization's
    conversations made in the week (the contacts' domains put them there on ingest)."""
    got = reports.compute(scope(**WEEK))
    by_org = {row["organization"]: row for row in got["by_organization"]}
    assert sum(row["new"] for row in by_org.values()) == got["new"]["total"]
    assert (
        sum(row["time_seconds"] for row in by_org.values()) == (got["time_spent"]["total_seconds"])
    )
    start, end = datetime(2024, 3, 4), datetime(2024, 3, 12)
    found = 0
    for (name,) in Organization.select(Organization.name).tuples():
        made = (
            Conversation.select()
            .join(Contact, on=(Conversation.contact == Contact.id))
            .join(Organization, on=(Contact.organization == Organization.id))
            .where(
                Organization.name == name,
                Conversation.created_at >= start,
                Conversation.created_at < end,
            )
            .count()
        )
        narrowed = reports.compute(scope(**WEEK, org=name))
        assert narrowed["new"]["total"] == made == by_org.get(name, {"new": 0})["new"], name
        found += made
    assert found > 0  # the demo's organizations have conversations that week
    with pytest.raises(NotFound, match="org list"):
        reports.compute(scope(**WEEK, org="No Such Company"))


def test_a_desk_from_before_v18_gets_its_first_responses_from_its_replies(history: None) -> None:
    """Conversations answered before the SLA clock recorded first responses (schema v11) had
    none on the conversation; the upgrade finds each one's first agent reply, so the report,
    which reads the recorded one, counts them as before."""
    from deskterm.store.migrations import SchemaVersion

    before = reports.compute(scope(**WEEK))
    answered = Conversation.first_response_at.is_null(False)
    recorded = dict(Conversation.select(Conversation.id, Conversation.first_response_at)
                    .where(answered).tuples())  # fmt: skip
    assert len(recorded) == 5
    Conversation.update(first_response_at=None).execute()
    SchemaVersion.update(version=17).execute()
    assert reports.compute(scope(**WEEK))["first_response"]["answered"] == 0
    connection.close_database()
    connection.open_database()  # the upgrade
    found = dict(Conversation.select(Conversation.id, Conversation.first_response_at)
                 .where(answered).tuples())  # fmt: skip
    assert found == recorded
    assert reports.compute(scope(**WEEK))["first_response"] == before["first_response"]
