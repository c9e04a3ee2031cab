"""Counting SLA time: around the clock, or only in business hours (a weekly calendar, holidays,
a time zone). Pure functions of naive-UTC datetimes (as the desk stores them), so the maths
is tested on its own: DST changes, nights, weekends, holidays, a target met at closing time.

Business hours are wall-clock times in the calendar's zone: "09:00-17:00" on the day the
clocks go forward is still 09:00 to 17:00 local time, 8 hours long; a day whose hours span
the change (00:00-24:00) is 23 or 25 hours long, as it is for the people working it. A local
time that does not exist (02:30 when clocks jump from 02:00 to 03:00) counts from the moment
after the jump; one that exists twice counts from its first occurrence (zoneinfo, fold=0).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskterm.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
# A calendar whose hours never come (every day a holiday) must not loop forever.
MAX_DAYS_AHEAD = 366 * 5

Week = tuple[tuple[tuple[int, int], ...], ...]  # per weekday (Monday first): (start, end) minutes


@dataclass(frozen=True)
class Calendar:
    """When SLA time runs. `week` None: around the clock (the zone then does not matter)."""

    zone: str = "UTC"
    week: Week | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def around_the_clock(self) -> bool:
        return self.week is None

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of counted time after `start`. A target reached exactly at
        closing time is due at closing time, not at the next opening."""
        if self.week is None:
            return start + timedelta(seconds=seconds)
        remaining = max(0.0, seconds)
        for opens, closes in self.intervals(start):
            begin = max(opens, start)
            length = (closes - begin).total_seconds()
            if remaining <= length:
                return begin + timedelta(seconds=remaining)
            remaining -= length
        raise ConfigError("The SLA calendar has no business hours in the next five years.")

    def between(self, start: datetime, end: datetime) -> float:
        """Seconds of counted time from `start` to `end` (0 when end is not after start)."""
        if end <= start:
            return 0.0
        if self.week is None:
            return (end - start).total_seconds()
        total = 0.0
        for opens, closes in self.intervals(start):
            if opens >= end:
                break
            total += (min(closes, end) - max(opens, start)).total_seconds()
        return total

    def intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business hours as naive-UTC (opens, closes) pairs, in order, from the one that
        holds or follows `since` on."""
        assert self.week is not None
        zone = _zone(self.zone)
        local_day = since.replace(tzinfo=UTC).astimezone(zone).date() - timedelta(days=1)
        for offset in range(MAX_DAYS_AHEAD):
            day = local_day + timedelta(days=offset)
            for opens, closes in _day_intervals(self.zone, self.week, self.holidays, day):
                if closes > since:
                    yield opens, closes


@lru_cache(maxsize=4096)
def _day_intervals(
    zone_name: str, week: Week, holidays: frozenset[date], day: date
) -> tuple[tuple[datetime, datetime], ...]:
    """One local day's business hours in naive UTC (cached: ingest asks for the same days)."""
    if day in holidays:
        return ()
    zone = _zone(zone_name)
    found = []
    for start, end in week[day.weekday()]:
        opens, closes = _utc(day, start, zone), _utc(day, end, zone)
        if closes > opens:
            found.append((opens, closes))
    return tuple(found)


def _utc(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes >= DAY_MINUTES:  # 24:00: the next day's midnight
        day, minutes = day + timedelta(days=1), minutes - DAY_MINUTES
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"Time zone {name!r} is not known; use a name such as Europe/Berlin or UTC."
        ) from None


def zone_name(name: str) -> str:
    """`name` when it is a time zone this machine knows, else a ConfigError saying so."""
    _zone(name)
    return name


# --- the words an admin writes -------------------------------------------------------------

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def parse_hours(text: str) -> Week | None:
    """Business hours as written on the command line: groups separated by ";", each days then
    time ranges, e.g. "mon-fri 09:00-12:00 13:00-17:00; sat 10:00-14:00". "24/7" (or
    nothing) is around the clock: None."""
    text = text.strip().lower()
    if text in ("", "24/7", "always"):
        return None
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for group in text.split(";"):
        words = group.split()
        if not words:
            continue
        days, ranges = _days(words[0]), words[1:]
        if not ranges:
            raise ConfigError(
                f"{group.strip()!r} names days without hours; write e.g. mon-fri 09:00-17:00."
            )
        for word in ranges:
            span = _range(word)
            for day in days:
                week[day].append(span)
    for day, spans in enumerate(week):
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise ConfigError(f"The hours of {DAYS[day]} overlap; list each time once.")
    if not any(week):
        raise ConfigError("The business hours name no time; write e.g. mon-fri 09:00-17:00.")
    return tuple(tuple(spans) for spans in week)


def _days(word: str) -> list[int]:
    days: list[int] = []
    for part in word.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ConfigError(
                f"{word!r} is not a day or a range of days; use {', '.join(DAYS)} (e.g. mon-fri)."
            )
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return days


def _range(word: str) -> tuple[int, int]:
    match = _RANGE.match(word)
    if not match:
        raise ConfigError(f"{word!r} is not a time range; write it as 09:00-17:00.")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > DAY_MINUTES or end <= start:
        raise ConfigError(
            f"{word!r} is not a time range within one day; write it as 09:00-17:00 "
            "(24:00 for midnight at its end)."
        )
    return start, end


def format_hours(week: Week | None) -> str:
    """The hours as `parse_hours` reads them (equal days grouped): what `sla show` prints."""
    if week is None:
        return "24/7"
    groups: list[tuple[list[int], tuple[tuple[int, int], ...]]] = []
    for day, spans in enumerate(week):
        if not spans:
            continue
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    words = []
    for days, spans in groups:
        named = DAYS[days[0]] if len(days) == 1 else f"{DAYS[days[0]]}-{DAYS[days[-1]]}"
        words.append(" ".join([named, *(f"{_clock(s)}-{_clock(e)}" for s, e in spans)]))
    return "; ".join(words)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_holiday(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{text!r} is not a date; write a holiday as 2025-12-25.") from None


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")


def parse_minutes(text: str) -> int:
    """A target or a lead time as written: "90m", "4h", "1h30m", or a bare number of
    minutes. Days are refused rather than guessed at: targets are counted in the policy's
    business hours when it has a calendar, where "2d" could only mean 48 counted hours
    (six 8-hour working days), never the two working days a person means; so the refusal
    says to write hours (two 8-hour days are 16h)."""
    raw = text.strip().lower()
    if raw.isdigit():
        minutes = int(raw)
    else:
        match = _DURATION.match(raw)
        if not raw or not match:
            raise ConfigError(
                f"{text!r} is not a duration; write hours and minutes (90m, 4h, 1h30m), "
                "not days: two 8-hour business days are 16h."
            )
        minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if minutes <= 0:
        raise ConfigError(f"{text!r} is no time at all; give a duration such as 30m or 4h.")
    return minutes


def format_minutes(minutes: int | None) -> str:
    if not minutes:
        return "-"
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest else "")
