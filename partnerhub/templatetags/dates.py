"""``|date`` that formats each calendar day once per process for formats that show only the day.

Lists show a date on every row (``{{ ticket.created_at|date:"M j, Y" }}``), and Django's filter looks the
format up, builds a formatter and translates the month name for each one. When the format has nothing finer
than a day in it (no hour, minute, second or time zone), its output depends only on the local date, the
format and the active language, so the text is kept under those three and reused. Any other format, and any
value that is not a date or datetime, goes to Django's filter. Output is exactly Django's.

Registered as a template builtin in ``settings.TEMPLATES`` after Django's, so it replaces ``|date``
everywhere without ``{% load %}``.
"""

from __future__ import annotations

import datetime

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import defaultfilters
from django.utils import formats
from django.utils.translation import get_language

register = template.Library()

# Format characters whose output depends on the calendar day alone (django.utils.dateformat.DateFormat).
DAY_ONLY = frozenset("bdDEFjlLmMnNoStwWyYz")
MAX_KEPT = 8192
_kept: dict[tuple, str] = {}
_day_only: dict[tuple, bool] = {}


def _shows_day_only(format_string: str) -> bool:
    escaped = False
    for char in format_string:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isalpha() and char not in DAY_ONLY:
            return False
    return True


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    """Django's ``|date``; see the module's docstring."""
    kind = type(value)
    if kind is not datetime.datetime and kind is not datetime.date:
        return defaultfilters.date(value, arg)
    language = get_language()
    day_only = _day_only.get((arg, language))
    if day_only is None:
        day_only = _day_only[(arg, language)] = _shows_day_only(formats.get_format(arg or "DATE_FORMAT"))
    if not day_only:
        return defaultfilters.date(value, arg)
    key = (value.toordinal(), arg, language)
    text = _kept.get(key)
    if text is None:
        text = defaultfilters.date(value, arg)
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        _kept[key] = text
    return text


@receiver(setting_changed)
def _forget_on_format_change(*, setting, **kwargs):
    if setting in {"DATE_FORMAT", "SHORT_DATE_FORMAT", "FORMAT_MODULE_PATH", "LANGUAGE_CODE", "LANGUAGES", "USE_I18N"}:
        _kept.clear()
        _day_only.clear()
