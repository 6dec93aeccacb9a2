"""Business-time arithmetic for SLA clocks: how much working time lies between two instants, and which
instant lies a given amount of working time after another, in a ``BusinessHours`` calendar.

``hours=None`` means the clock runs around the clock. Times are timezone-aware; schedules are local to the
calendar's time zone (daylight-saving changes handled by zoneinfo).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366  # a schedule with no working time must not loop forever


def _parse(value: str) -> dt.time:
    hour, minute = value.split(":")
    if hour == "24" and minute == "00":
        return dt.time.max
    return dt.time(int(hour), int(minute))


def _day_intervals(hours, day: dt.date, tz: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    if day.isoformat() in set(hours.holidays or []):
        return []
    spans = (hours.schedule or {}).get(str(day.isoweekday()), [])
    result = []
    for start, end in spans:
        begin = dt.datetime.combine(day, _parse(start), tzinfo=tz)
        finish = dt.datetime.combine(day, _parse(end), tzinfo=tz)
        if finish > begin:
            result.append((begin.astimezone(dt.UTC), finish.astimezone(dt.UTC)))
    return sorted(result)


def _intervals_from(hours, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    tz = ZoneInfo(hours.timezone)
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(MAX_DAYS):
        for begin, end in _day_intervals(hours, day + dt.timedelta(days=offset), tz):
            if end <= start:
                continue
            yield max(begin, start), end
    raise ValueError(f"The business hours “{hours}” have no working time in the next {MAX_DAYS} days.")


def business_seconds_between(hours, start: dt.datetime, end: dt.datetime) -> int:
    """Working seconds in [start, end); 0 when end is not after start."""
    if end <= start:
        return 0
    if hours is None:
        return int((end - start).total_seconds())
    total = 0.0
    for begin, finish in _intervals_from(hours, start):
        if begin >= end:
            break
        total += (min(finish, end) - begin).total_seconds()
    return int(total)


def add_business_seconds(hours, start: dt.datetime, seconds: int) -> dt.datetime:
    """The instant ``seconds`` of working time after ``start`` (``start`` itself for 0)."""
    if seconds <= 0:
        return start
    if hours is None:
        return start + dt.timedelta(seconds=seconds)
    remaining = float(seconds)
    for begin, finish in _intervals_from(hours, start):
        span = (finish - begin).total_seconds()
        if remaining <= span:
            return begin + dt.timedelta(seconds=remaining)
        remaining -= span
    raise AssertionError("unreachable")  # _intervals_from raises first
