"""``{% url %}`` reverses each pattern once per process and writes exactly what Django's tag writes."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import NoReverseMatch, path, register_converter, reverse, set_script_prefix

from partnerhub.templatetags import urls as url_tag


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


class PaddedConverter:
    """A converter that does not print the number as it is: the fast path must not be used for it."""

    regex = "[0-9]{6}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{value:06d}"


class TenDigitsConverter:
    regex = "[0-9]{1,10}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        if value >= 10**10:
            raise ValueError("too long")
        return str(value)


register_converter(PaddedConverter, "padded")
register_converter(TenDigitsConverter, "tendigits")


def _view(request, **kwargs):  # pragma: no cover - never called, only reversed
    raise AssertionError


urlpatterns = [
    path("plain/<int:pk>/", _view, name="plain"),
    path("padded/<padded:pk>/", _view, name="padded"),
    path("short/<tendigits:pk>/", _view, name="short"),
    path("two/<int:a>/<int:b>/", _view, name="two"),
    path("words/<slug:slug>/", _view, name="words"),
    path("a&b/", _view, name="amp"),
]


@pytest.mark.parametrize(
    ("source", "name", "args"),
    [
        ("{% url 'portal:home' %}", "portal:home", []),
        ("{% url 'portal:member_role' 5 %}", "portal:member_role", [5]),
        ("{% url 'portal:member_role' 123456789 %}", "portal:member_role", [123456789]),
        ("{% url 'support:ticket' 0 %}", "support:ticket", [0]),
        ("{% url 'comarketing:asset' 77 %}", "comarketing:asset", [77]),
        ("{% url 'admin:index' %}", "admin:index", []),
    ],
)
def test_the_project_urls_are_exactly_djangos(source, name, args):
    url_tag.pattern_shape.cache_clear()
    for _ in range(2):  # the first render reverses the pattern, the second only fills the number in
        assert render(source) == reverse(name, args=args)


def test_a_pattern_is_reversed_once_for_every_row():
    url_tag.pattern_shape.cache_clear()
    rows = render("{% for pk in pks %}{% url 'support:ticket' pk %} {% endfor %}", pks=range(1, 51))
    assert rows.split() == [reverse("support:ticket", args=[pk]) for pk in range(1, 51)]
    assert url_tag.pattern_shape.cache_info().misses == 1  # one reversal, then 49 numbers put in its place
    assert url_tag.pattern_shape.cache_info().hits == 49


def test_every_number_is_put_in_its_place():
    url_tag.pattern_shape.cache_clear()
    for pk in (1, 9, 10, 99, 100, 2**31, 987_654_321_012):
        assert render("{% url 'support:ticket' pk %}", pk=pk) == reverse("support:ticket", args=[pk])
        assert (
            render("{% url 'support:ticket' pk as link %}[{{ link }}]", pk=pk)
            == f"[{reverse('support:ticket', args=[pk])}]"
        )


def test_a_script_prefix_is_kept_apart():
    url_tag.pattern_shape.cache_clear()
    try:
        set_script_prefix("/partners/")
        assert (
            render("{% url 'support:ticket' 8 %}")
            == "/partners/support/tickets/8/"
            == reverse("support:ticket", args=[8])
        )
        assert render("{% url 'portal:home' %}") == "/partners/"
    finally:
        set_script_prefix("/")
    assert render("{% url 'support:ticket' 8 %}") == "/support/tickets/8/"
    assert render("{% url 'portal:home' %}") == "/"


@override_settings(ROOT_URLCONF=__name__)
def test_other_arguments_and_odd_converters_go_to_djangos_tag():
    url_tag.pattern_shape.cache_clear()
    assert render("{% url 'plain' 4 %}") == "/plain/4/"
    assert render("{% url 'padded' 42 %}") == "/padded/000042/"  # the shape check refuses the fast path
    assert render("{% url 'padded' 42 %}") == "/padded/000042/"
    assert render("{% url 'two' 1 2 %}") == "/two/1/2/"
    assert render("{% url 'plain' pk=3 %}") == "/plain/3/"
    assert render("{% url 'plain' '5' %}") == "/plain/5/"  # a string: Django's tag
    assert render("{% url 'words' 'hello-there' %}") == "/words/hello-there/"
    assert render("{% url 'amp' %}") == "/a&amp;b/"  # escaped like Django's tag
    assert render("{% autoescape off %}{% url 'amp' %}{% endautoescape %}") == "/a&b/"
    # The marker is refused by this converter, so the pattern is reversed per link, and still right
    assert render("{% url 'short' 12 %}") == "/short/12/"


@override_settings(ROOT_URLCONF=__name__)
def test_errors_are_djangos():
    url_tag.pattern_shape.cache_clear()
    with pytest.raises(NoReverseMatch):
        render("{% url 'missing' 5 %}")
    with pytest.raises(NoReverseMatch):
        render("{% url 'plain' -1 %}")
    with pytest.raises(NoReverseMatch):
        render("{% url 'plain' %}")
    assert render("{% url 'missing' 5 as link %}[{{ link }}]") == "[]"
