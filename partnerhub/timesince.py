"""One-unit relative times ("3 hours", "2 weeks") for list rows, the same text as Django's ``timesince`` and
``timeuntil`` with ``depth=1``.

A list of 50 tickets asks for a hundred of them per page, and Django's functions build every one from scratch:
calendar arithmetic for months and years, then a lazy translation per call. Under four weeks no month or year
can be in the answer, so the unit is plain arithmetic on the seconds, and each (language, unit, number) is
translated once per process. Four weeks and more go to Django's functions unchanged.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.utils import timesince as django_timesince
from django.utils.html import avoid_wrapping
from django.utils.translation import get_language

_UNITS = ((60 * 60 * 24 * 7, "week"), (60 * 60 * 24, "day"), (60 * 60, "hour"), (60, "minute"))
# The shortest calendar month: below it, Django's answer has neither months nor years.
_WITHOUT_MONTHS = 28 * 24 * 60 * 60


@lru_cache(maxsize=2048)
def _label(language: str | None, unit: str, number: int) -> str:
    return avoid_wrapping(django_timesince.TIME_STRINGS[unit] % {"num": number})


def _between(start: dt.datetime, end: dt.datetime) -> str | None:
    delta = end - start
    seconds = delta.days * 24 * 60 * 60 + delta.seconds
    if seconds >= _WITHOUT_MONTHS:
        return None
    for size, unit in _UNITS:
        if seconds >= size:
            return _label(get_language(), unit, seconds // size)
    return _label(get_language(), "minute", 0)


def timesince(moment: dt.datetime, now: dt.datetime) -> str:
    """``django.utils.timesince.timesince(moment, now, depth=1)``."""
    return _between(moment, now) or django_timesince.timesince(moment, now, depth=1)


def timeuntil(moment: dt.datetime, now: dt.datetime) -> str:
    """``django.utils.timesince.timeuntil(moment, now, depth=1)``."""
    return _between(now, moment) or django_timesince.timeuntil(moment, now, depth=1)
