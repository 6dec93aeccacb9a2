"""``PlainSelect`` writes exactly the HTML of Django's ``Select`` templates."""

from __future__ import annotations

import pytest
from django import forms

from partnerhub.forms import PlainEmailInput, PlainSelect, PlainTextInput

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


@pytest.mark.parametrize("value", [None, "", "name@company.com", 'a"b<c>&', 5, 0])
@pytest.mark.parametrize(
    "attrs",
    [
        None,
        {"id": "id_email"},
        {"type": "search", "placeholder": "Search titles", "autocomplete": "off", "required": True, "x": False},
        {"data-x": 'a"b<', "maxlength": 254, "aria-describedby": "id_q_helptext"},
    ],
)
@pytest.mark.parametrize(
    ("plain", "django_widget"), [(PlainTextInput, forms.TextInput), (PlainEmailInput, forms.EmailInput)]
)
def test_plain_inputs_write_djangos_html(plain, django_widget, value, attrs):
    assert plain().render("q", value, attrs) == django_widget().render("q", value, attrs)
    assert plain(attrs={"class": "x"}).render("q", value, attrs) == django_widget(attrs={"class": "x"}).render(
        "q", value, attrs
    )


@pytest.mark.django_db
def test_the_forms_that_use_plain_widgets_render_as_with_djangos():
    from comarketing.forms import AssetFilterForm
    from partnerhub.forms import InviteForm

    def with_django_widgets(form):
        for field in form.fields.values():
            if isinstance(field.widget, PlainSelect):
                field.widget = forms.Select(attrs=field.widget.attrs, choices=field.widget.choices)
            elif isinstance(field.widget, PlainTextInput | PlainEmailInput):
                base = forms.EmailInput if isinstance(field.widget, PlainEmailInput) else forms.TextInput
                field.widget = base(attrs={**field.widget.attrs, "type": field.widget.input_type})
        return form

    for make in (
        lambda: InviteForm(),
        lambda: InviteForm(data={"email": "not an address", "role": "nobody"}),
        lambda: InviteForm(data={"email": "ann@example.com", "role": "admin"}),
        lambda: AssetFilterForm(),
        lambda: AssetFilterForm(data={"q": 'security "suite" <b>', "kind": "pdf", "category": "nope", "tag": "x&y"}),
        lambda: AssetFilterForm(data={"q": "", "kind": "nothing", "cobrand": "on"}),
    ):
        plain, django_form = make(), with_django_widgets(make())
        assert plain.is_bound or not plain.errors
        for name in plain.fields:
            assert str(plain[name]) == str(django_form[name]), name
