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


def test_inline_include_renders_as_include_on_every_row():
    import datetime

    from django.utils import timezone

    now = timezone.now()
    stamp = {"iso": now.isoformat(), "title": "Nov 28, 2026 10:00 UTC"}
    tickets = [
        {"sla_due": now, "sla_state": "breached", "sla_label": "2 hours", "sla_stamp": stamp},
        {"sla_due": now + datetime.timedelta(minutes=30), "sla_state": "soon", "sla_label": "30 minutes"},
        {"sla_due": now + datetime.timedelta(days=2), "sla_state": "ok", "sla_label": "2 days", "sla_stamp": stamp},
        {"sla_due": None, "sla_state": "", "sla_label": ""},
    ]
    loop = '{% for ticket in tickets %}<td>{% TAG "support/_sla_due.html" %}</td>{% endfor %}'
    included = render(loop.replace("TAG", "include"), tickets=tickets)
    inlined = render(loop.replace("TAG", "inline_include"), tickets=tickets)
    assert inlined == included
    for text in ("2 hours late", "in 30 minutes", "in 2 days", "No SLA clock is running"):
        assert text in inlined


@pytest.mark.parametrize(
    "tag",
    [
        "{% inline_include support/_sla_due.html %}",
        '{% inline_include "support/_sla_due.html" with ticket=x %}',
        "{% inline_include \"support/_sla_due.html' %}",
        "{% inline_include %}",
    ],
)
def test_inline_include_takes_one_quoted_name(tag):
    with pytest.raises(TemplateSyntaxError, match="one quoted template name"):
        Template(tag)


def test_inline_include_compiles_the_partial_from_the_including_templates_engine():
    from django.template import Engine, TemplateDoesNotExist

    engine = Engine(
        loaders=[
            (
                "django.template.loaders.locmem.Loader",
                {
                    "row.html": "<b>{{ row }}</b>",
                    "page.html": '{% for row in rows %}{% inline_include "row.html" %}{% endfor %}',
                    "base.html": "[{% block x %}{% endblock %}]",
                    "child.html": '{% extends "base.html" %}{% block x %}{{ row }}{% endblock %}',
                    "bad.html": '{% inline_include "child.html" %}',
                    "missing.html": '{% inline_include "nowhere.html" %}',
                },
            )
        ],
        builtins=["partnerhub.templatetags.partials"],
    )
    assert engine.get_template("page.html").render(Context({"rows": ["a", "<b>"]})) == "<b>a</b><b>&lt;b&gt;</b>"
    with pytest.raises(TemplateSyntaxError, match="extends a template"):
        engine.get_template("bad.html")
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("missing.html")
