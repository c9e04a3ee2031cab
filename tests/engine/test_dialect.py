"""store/dialect.py's spellings that depend on the engine's version: a CTE read by several
branches is `AS MATERIALIZED` where the engine knows the word, plain `AS` on a SQLite older
than 3.35 (which refuses it), and the report's numbers are the same with either."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from deskterm.demo import desk as demo
from deskterm.desk import reports
from deskterm.desk.report_scope import scope
from deskterm.store import connection, dialect


@pytest.mark.without_database
@pytest.mark.parametrize(
    ("engine_is_sqlite", "version", "spelling"),
    [
        (True, (3, 34, 1), "AS"),
        (True, (3, 35, 0), "AS MATERIALIZED"),
        (True, (3, 45, 3), "AS MATERIALIZED"),
        (False, (3, 34, 1), "AS MATERIALIZED"),  # PostgreSQL: SQLite's version is no matter
    ],
)
def test_the_cte_is_materialized_where_the_engine_knows_the_word(
    monkeypatch: pytest.MonkeyPatch,
    engine_is_sqlite: bool,
    version: tuple[int, int, int],
    spelling: str,
) -> None:
    monkeypatch.setattr(dialect, "_sqlite", lambda: engine_is_sqlite)
    monkeypatch.setattr(sqlite3, "sqlite_version_info", version)
    assert dialect.materialized_cte() == spelling


def test_the_report_is_the_same_with_the_older_sqlite_s_spelling(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.build_demo(now=demo.ANCHOR, history=True)
    connection.open_database()
    week = scope(date(2024, 3, 4), date(2024, 3, 11))
    materialized = reports.compute(week)
    asked: list[str] = []

    def plain() -> str:
        asked.append("AS")
        return "AS"

    monkeypatch.setattr(dialect, "materialized_cte", plain)  # what an older SQLite gets
    assert reports.compute(week) == materialized
    assert asked  # the report's CTE is spelt by the dialect, not by report_sql
