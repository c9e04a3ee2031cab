"""The SLA clock's arithmetic: business hours, nights, weekends, holidays, DST, closing time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from deskterm.desk.sla_calendar import (
    Calendar,
    format_hours,
    format_minutes,
    parse_hours,
    parse_minutes,
)
from deskterm.errors import ConfigError

HOUR = 3600
OFFICE = parse_hours("mon-fri 09:00-17:00")


def utc(*args: int) -> datetime:
    return datetime(*args)


def test_around_the_clock_counts_every_second() -> None:
    calendar = Calendar()
    assert calendar.add(utc(2025, 1, 3, 22), 4 * HOUR) == utc(2025, 1, 4, 2)
    assert calendar.between(utc(2025, 1, 3, 22), utc(2025, 1, 4, 2)) == 4 * HOUR


def test_within_one_business_day() -> None:
    calendar = Calendar("UTC", OFFICE)
    assert calendar.add(utc(2025, 1, 6, 10), 2 * HOUR) == utc(2025, 1, 6, 12)


def test_night_carries_over_to_the_next_morning() -> None:
    calendar = Calendar("UTC", OFFICE)
    # Monday 16:00 + 2h: one hour today, one tomorrow from 09:00.
    assert calendar.add(utc(2025, 1, 6, 16), 2 * HOUR) == utc(2025, 1, 7, 10)


def test_mail_arriving_at_night_counts_from_opening() -> None:
    calendar = Calendar("UTC", OFFICE)
    assert calendar.add(utc(2025, 1, 6, 23, 30), 1 * HOUR) == utc(2025, 1, 7, 10)
    assert calendar.add(utc(2025, 1, 7, 3), 30 * 60) == utc(2025, 1, 7, 9, 30)


def test_weekend_is_skipped() -> None:
    calendar = Calendar("UTC", OFFICE)
    # Friday 2025-01-10 16:00 + 4h: 1h Friday, 3h Monday.
    assert calendar.add(utc(2025, 1, 10, 16), 4 * HOUR) == utc(2025, 1, 13, 12)
    # Saturday mail: counted from Monday 09:00.
    assert calendar.add(utc(2025, 1, 11, 12), HOUR) == utc(2025, 1, 13, 10)


def test_target_reached_exactly_at_closing_time_is_due_at_closing() -> None:
    calendar = Calendar("UTC", OFFICE)
    assert calendar.add(utc(2025, 1, 6, 9), 8 * HOUR) == utc(2025, 1, 6, 17)
    assert calendar.add(utc(2025, 1, 6, 16), HOUR) == utc(2025, 1, 6, 17)
    # One second more is the next morning's first second.
    assert calendar.add(utc(2025, 1, 6, 16), HOUR + 1) == utc(2025, 1, 7, 9, 0, 1)
    # Friday's closing time stays Friday, not Monday's opening.
    assert calendar.add(utc(2025, 1, 10, 13), 4 * HOUR) == utc(2025, 1, 10, 17)


def test_holidays_are_skipped() -> None:
    calendar = Calendar("UTC", OFFICE, frozenset({date(2025, 12, 25), date(2025, 12, 26)}))
    # Wednesday 24th 16:00 + 2h: 1h on the 24th, then Thursday and Friday are holidays,
    # the weekend follows: Monday 29th, 10:00.
    assert calendar.add(utc(2025, 12, 24, 16), 2 * HOUR) == utc(2025, 12, 29, 10)


def test_time_zone_shifts_the_office_hours() -> None:
    calendar = Calendar("America/New_York", OFFICE)
    # 09:00-17:00 in New York is 14:00-22:00 UTC in January (EST, UTC-5).
    assert calendar.add(utc(2025, 1, 6, 12), HOUR) == utc(2025, 1, 6, 15)


def test_dst_spring_forward_keeps_wall_clock_hours() -> None:
    """Berlin goes from CET (UTC+1) to CEST (UTC+2) on Sunday 2025-03-30."""
    calendar = Calendar("Europe/Berlin", OFFICE)
    # Friday 28th 16:00 local = 15:00 UTC, 2h: 1h Friday, 1h Monday 31st from 09:00 local,
    # which is now 07:00 UTC.
    assert calendar.add(utc(2025, 3, 28, 15), 2 * HOUR) == utc(2025, 3, 31, 8)


def test_dst_fall_back_keeps_wall_clock_hours() -> None:
    """Berlin goes back from CEST to CET on Sunday 2025-10-26."""
    calendar = Calendar("Europe/Berlin", OFFICE)
    # Friday 24th 16:00 CEST = 14:00 UTC; Monday 27th 09:00 CET = 08:00 UTC.
    assert calendar.add(utc(2025, 10, 24, 14), 2 * HOUR) == utc(2025, 10, 27, 9)


def test_a_whole_day_calendar_over_dst_is_23_and_25_hours() -> None:
    calendar = Calendar("Europe/Berlin", parse_hours("mon-sun 00:00-24:00"))
    spring = calendar.between(utc(2025, 3, 29, 23), utc(2025, 3, 30, 22))  # local midnights
    autumn = calendar.between(utc(2025, 10, 25, 22), utc(2025, 10, 26, 23))
    assert (spring, autumn) == (23 * HOUR, 25 * HOUR)


def test_hours_inside_the_missing_dst_hour() -> None:
    """02:00-04:00 on the spring-forward night: 02:00-03:00 does not exist, so one hour."""
    calendar = Calendar("Europe/Berlin", parse_hours("sun 02:00-04:00"))
    day = calendar.between(utc(2025, 3, 29, 12), utc(2025, 3, 30, 12))
    assert day == HOUR


def test_between_counts_only_business_time() -> None:
    calendar = Calendar("UTC", OFFICE)
    # Friday 15:00 to Monday 11:00: 2h + 2h.
    assert calendar.between(utc(2025, 1, 10, 15), utc(2025, 1, 13, 11)) == 4 * HOUR
    assert calendar.between(utc(2025, 1, 11, 1), utc(2025, 1, 12, 23)) == 0
    assert calendar.between(utc(2025, 1, 13, 11), utc(2025, 1, 10, 15)) == 0


def test_add_and_between_agree() -> None:
    calendar = Calendar(
        "Europe/Berlin", parse_hours("mon-fri 08:00-12:00 13:00-18:00; sat 10:00-14:00")
    )
    start = utc(2025, 3, 27, 6, 17)
    for minutes in (1, 59, 240, 241, 600, 3000, 9000):
        due = calendar.add(start, minutes * 60)
        assert calendar.between(start, due) == minutes * 60


def test_lunch_break_is_not_counted() -> None:
    calendar = Calendar("UTC", parse_hours("mon-fri 09:00-12:00 13:00-17:00"))
    assert calendar.add(utc(2025, 1, 6, 11), 2 * HOUR) == utc(2025, 1, 6, 14)


def test_a_calendar_that_never_opens_says_so() -> None:
    days = frozenset(date(2025, 1, 1) + timedelta(days=n) for n in range(366 * 6))
    calendar = Calendar("UTC", OFFICE, days)
    with pytest.raises(ConfigError, match="no business hours"):
        calendar.add(utc(2025, 1, 1), HOUR)


def test_hours_round_trip_and_refusals() -> None:
    text = "mon-fri 09:00-12:00 13:00-17:00; sat 10:00-14:00"
    assert format_hours(parse_hours(text)) == text
    assert parse_hours("24/7") is None and format_hours(None) == "24/7"
    assert parse_hours("fri-mon 10:00-11:00")[6] == ((600, 660),)  # wraps over the weekend
    for bad in (
        "mon-fri",
        "funday 09:00-17:00",
        "mon 17:00-09:00",
        "mon 09:00-25:00",
        "mon 09:00-12:00 11:00-13:00",
        "mon 9-5",
    ):
        with pytest.raises(ConfigError):
            parse_hours(bad)


def test_durations() -> None:
    assert [parse_minutes(t) for t in ("90m", "4h", "1h30m", "45")] == [90, 240, 90, 45]
    assert format_minutes(90) == "1h30m" and format_minutes(240) == "4h"
    for bad in ("", "1d", "0m", "h", "-5"):
        with pytest.raises(ConfigError):
            parse_minutes(bad)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match="Time zone"):
        Calendar("Mars/Olympus", OFFICE).add(utc(2025, 1, 1), HOUR)
