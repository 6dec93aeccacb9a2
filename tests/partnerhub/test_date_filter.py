"""``|date`` keeps a formatted day per process and writes exactly what Django's filter writes."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.template import defaultfilters, engines
from django.test import override_settings
from django.utils import timezone, translation

from partnerhub.templatetags import dates

FORMATS = [
    None,
    "M j, Y",
    "N j, Y",
    "D, d M Y",
    "l jS \\o\\f F Y",
    "SHORT_DATE_FORMAT",
    "DATE_FORMAT",
    "Y-m-d",
    "W o L t z w b E",
    "M j, Y H:i",  # times and zones go to Django's filter
    "DATETIME_FORMAT",
    "c",
    "e O T Z",
    "P",
]
VALUES = [
    datetime.datetime(2026, 11, 28, 23, 59, 59, 999999, tzinfo=datetime.UTC),
    datetime.datetime(2026, 11, 29, 0, 0, 1, tzinfo=datetime.UTC),
    datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.UTC),
    datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC),  # a DST change in Europe
    datetime.date(2027, 1, 1),
    datetime.datetime(2026, 11, 28, 8, 0),  # naive
]


def render(value, arg) -> str:
    source = "{{ value|date }}" if arg is None else "{{ value|date:arg }}"
    return engines["django"].from_string(source).render({"value": value, "arg": arg})


def djangos(value, arg) -> str:
    """Django's filter with the engine's own conversion to local time first, as ``expects_localtime`` does."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return defaultfilters.date(value, arg) if arg is not None else defaultfilters.date(value)


@pytest.mark.parametrize("language", ["en-us", "de", "fr"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_every_format_value_language_and_zone_is_djangos(language, zone):
    dates._kept.clear()
    dates._day_only.clear()
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        for _ in range(2):  # the second pass reads what the first kept
            for value in VALUES:
                for arg in FORMATS:
                    try:
                        expected = djangos(value, arg)
                    except TypeError:  # Django refuses a time format for a date: so must this filter
                        with pytest.raises(TypeError):
                            render(value, arg)
                        continue
                    assert render(value, arg) == expected, (language, zone, value, arg)


def test_one_day_is_formatted_once():
    dates._kept.clear()
    day = datetime.datetime(2026, 11, 28, 9, 0, tzinfo=datetime.UTC)
    rows = [day + datetime.timedelta(minutes=7 * n) for n in range(50)]
    source = "{% for d in rows %}{{ d|date:'M j, Y' }};{% endfor %}"
    with timezone.override(datetime.UTC):
        out = engines["django"].from_string(source).render({"rows": rows})
    assert out.split(";")[:-1] == ["Nov 28, 2026"] * 50
    assert len(dates._kept) == 1


def test_formats_with_a_time_are_never_kept():
    dates._kept.clear()
    with timezone.override(datetime.UTC):
        assert render(VALUES[0], "M j, Y H:i") == "Nov 28, 2026 23:59"
        assert render(VALUES[1], "M j, Y H:i") == "Nov 29, 2026 00:00"
    assert dates._kept == {}


def test_empty_and_odd_values_are_djangos():
    for value in (None, "", "not a date", 12, datetime.time(9, 30)):
        for arg in ("M j, Y", "H:i", None):
            assert render(value, arg) == (defaultfilters.date(value, arg) if arg else defaultfilters.date(value))


def test_a_changed_date_format_setting_is_seen():
    value = datetime.date(2026, 11, 28)
    with translation.override(None):
        before = render(value, None)
        with override_settings(DATE_FORMAT="Y/m/d", USE_I18N=False):
            assert render(value, None) == "2026/11/28"
        assert render(value, None) == before
