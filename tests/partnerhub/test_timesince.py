"""``partnerhub.timesince``: the same text as Django's ``timesince``/``timeuntil`` with ``depth=1``."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timesince as django
from django.utils import translation

from partnerhub.timesince import timesince, timeuntil

NOW = dt.datetime(2026, 3, 31, 23, 30, 15, 123456, tzinfo=dt.UTC)
SECONDS = [
    *range(-130, 130, 7),  # the future, a few seconds, the first minutes
    3599, 3600, 3601, 7199, 7200, 86399, 86400, 86401, 6 * 86400 + 86399, 7 * 86400, 7 * 86400 + 1,
    14 * 86400 - 1, 27 * 86400 + 86399, 28 * 86400 - 1, 28 * 86400, 28 * 86400 + 1, 29 * 86400, 30 * 86400,
    31 * 86400, 32 * 86400, 59 * 86400, 60 * 86400, 364 * 86400, 365 * 86400, 366 * 86400, 800 * 86400,
]  # fmt: skip
MICROSECONDS = [0, 1, 999999]


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_same_text_as_django_both_ways(language, zone):
    now = NOW.astimezone(zoneinfo.ZoneInfo(zone))
    with translation.override(language):
        for seconds in SECONDS:
            for micro in MICROSECONDS:
                moment = now - dt.timedelta(seconds=seconds, microseconds=micro)
                assert timesince(moment, now) == django.timesince(moment, now, depth=1), (seconds, micro)
                later = now + dt.timedelta(seconds=seconds, microseconds=micro)
                assert timeuntil(later, now) == django.timeuntil(later, now, depth=1), (seconds, micro)


def test_every_moment_of_a_leap_february_and_month_ends():
    # Calendar months of 28 to 31 days, across a leap day, hour by hour: the arithmetic path meets Django's
    start = dt.datetime(2028, 1, 25, 0, 0, tzinfo=dt.UTC)
    for hours in range(0, 24 * 70, 5):
        now = start + dt.timedelta(hours=hours)
        for back in (1, 50, 24 * 27 + 23, 24 * 28, 24 * 29, 24 * 30 + 1, 24 * 31):
            moment = now - dt.timedelta(hours=back)
            assert timesince(moment, now) == django.timesince(moment, now, depth=1), (now, back)
