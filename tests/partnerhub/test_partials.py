"""``{% memo_include %}``: the same output as ``{% include %}``, rendered once per argument set, nothing leaks in."""

from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError

from partnerhub.templatetags import partials


@pytest.fixture(autouse=True)
def _fresh_memo(settings):
    settings.DEBUG = False
    partials._kept.clear()
    yield
    partials._kept.clear()


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.mark.parametrize(
    ("partial", "args"),
    [
        ("partials/icon.html", 'name="alert" class="icon-sm"'),
        ("partials/icon.html", 'name="home"'),
        ("support/_icon.html", 'name="book" class="icon-sm"'),
        ("support/_icon.html", 'name="alert"'),  # falls through to the shared icons
        ("comarketing/_kind_icon.html", 'kind="pdf"'),
        ("partials/avatar.html", 'initials="AB" size="sm"'),
        ("support/_status.html", 'status="pending" label="Pending on the customer" short=True'),
    ],
)
def test_same_output_as_include(partial, args):
    included = render(f'{{% include "{partial}" with {args} only %}}')
    memoized = render(f'{{% memo_include "{partial}" {args} %}}')
    assert memoized == included
    assert "<" in memoized  # the partial drew something
    assert render(f'{{% memo_include "{partial}" {args} %}}') == included  # served from the memo
    assert len(partials._kept[partial]) == 1


def test_arguments_are_the_key_and_the_page_context_does_not_reach_the_partial():
    source = '{% memo_include "partials/icon.html" name=icon %}'
    home = render(source, icon="home", **{"class": "leaked"})
    users = render(source, icon="users")
    assert home != users
    assert 'class="icon"' in home and "leaked" not in home
    assert len(partials._kept["partials/icon.html"]) == 2


def test_values_are_escaped_and_the_escaping_mode_is_part_of_the_key():
    source = '{% memo_include "partials/avatar.html" initials=who %}'
    assert "&lt;b&gt;" in render(source, who="<b>")
    raw = Template("{% autoescape off %}" + source + "{% endautoescape %}").render(Context({"who": "<b>"}))
    assert "<b>" in raw


def test_nothing_is_kept_in_debug_so_edited_partials_show(settings):
    settings.DEBUG = True
    render('{% memo_include "partials/icon.html" name="home" %}')
    assert not partials._kept.get("partials/icon.html")


def test_a_partial_keeps_a_bounded_number_of_argument_sets(monkeypatch):
    monkeypatch.setattr(partials, "MAX_KEPT", 3)
    for n in range(10):
        assert f">{n}<" in render('{% memo_include "partials/avatar.html" initials=n %}', n=n)
    assert len(partials._kept["partials/avatar.html"]) == 3
    render('{% memo_include "partials/icon.html" name="home" %}')
    assert len(partials._kept["partials/icon.html"]) == 1  # another partial still has room


@pytest.mark.parametrize(
    "source",
    [
        "{% memo_include %}",
        "{% memo_include partial_name %}",
        '{% memo_include "partials/icon.html" with name="home" %}',
        '{% memo_include "partials/icon.html" "home" %}',
    ],
)
def test_misuse_is_a_syntax_error(source):
    with pytest.raises(TemplateSyntaxError):
        Template(source)
