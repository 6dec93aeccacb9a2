"""``PlainSelect`` writes exactly the HTML of Django's ``Select`` templates."""

from __future__ import annotations

import pytest
from django import forms

from partnerhub.forms import PlainSelect

CHOICES = [
    ("", "Assign to…"),
    ("me", "Me"),
    (5, "Ann <admin> & co"),
    ("Group", [("a", "A"), ("b", 'B"q')]),
    ("Empty group", []),
]


@pytest.mark.parametrize("value", [None, "", "me", 5, "5", "a", ["a", "me"]])
@pytest.mark.parametrize(
    "attrs",
    [None, {"id": "bulk-assignee"}, {"id": "x", "required": True, "disabled": False, "data-x": 'a"b<', "n": 3}],
)
@pytest.mark.parametrize("multiple", [False, True])
def test_the_html_is_djangos(value, attrs, multiple):
    django_widget = forms.SelectMultiple(choices=CHOICES) if multiple else forms.Select(choices=CHOICES)
    plain = PlainSelect(choices=CHOICES)
    plain.allow_multiple_selected = multiple
    assert plain.render("assignee", value, attrs) == django_widget.render("assignee", value, attrs)


def test_a_form_field_renders_the_same_through_the_bound_field():
    class Both(forms.Form):
        django = forms.ChoiceField(choices=CHOICES, required=False)
        plain = forms.ChoiceField(choices=CHOICES, required=False, widget=PlainSelect)

    form = Both(data={"django": "me", "plain": "me"}, auto_id="f-%s")
    assert form.is_valid()
    assert str(form["plain"]) == str(form["django"]).replace("django", "plain")
