"""The onboarding forms on their own: the application form's spam traps and choices, and the queue filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from onboarding.forms import (
    COUNTRY_CHOICES,
    FORM_TOKEN_SALT,
    ApplicationForm,
    ReviewFilterForm,
    issue_form_token,
)


def token_issued(seconds_ago: float) -> str:
    return signing.dumps({"t": timezone.now().timestamp() - seconds_ago}, salt=FORM_TOKEN_SALT)


def valid_data(**overrides) -> dict:
    data = {
        "company_name": "Northwind Traders",
        "website": "northwind.example",
        "country": "DE",
        "region": "DACH",
        "partner_type": "reseller",
        "contact_first_name": "Nora",
        "contact_last_name": "Winter",
        "contact_email": "nora@northwind.example",
        "contact_phone": "+49 30 1234",
        "contact_title": "Head of Alliances",
        "expected_annual_revenue": "250000",
        "expected_deals_per_quarter": "12",
        "business_description": "Managed security services for manufacturers.",
        "fax_number": "",
        "issued": token_issued(30),
    }
    data.update(overrides)
    return data


def test_a_complete_application_is_valid_and_maps_to_the_service_fields():
    form = ApplicationForm(valid_data())
    assert form.is_valid(), form.errors
    data = form.service_data()
    assert data["website"] == "https://northwind.example"  # a bare domain gets https://
    assert data["country"] == "DE" and data["expected_deals_per_quarter"] == 12
    assert "fax_number" not in data and "issued" not in data


def test_an_unbound_form_carries_a_fresh_signed_timestamp():
    form = ApplicationForm()
    token = form.initial["issued"]
    issued = signing.loads(token, salt=FORM_TOKEN_SALT)["t"]
    assert abs(issued - timezone.now().timestamp()) < 5
    assert 'name="issued"' in str(form["issued"]) and 'type="hidden"' in str(form["issued"])


def test_the_honeypot_is_caught():
    form = ApplicationForm(valid_data(fax_number="+1 555 0100"))
    assert not form.is_valid()
    assert form.spam_code == "honeypot"
    assert "If you are a person, reload the page" in form.non_field_errors()[0]


def test_a_submission_within_three_seconds_is_too_fast():
    form = ApplicationForm(valid_data(issued=issue_form_token()))
    assert not form.is_valid()
    assert form.spam_code == "too_fast"
    assert "quicker than we expect" in form.non_field_errors()[0]


def test_a_form_older_than_a_day_is_stale_and_gets_a_fresh_token(monkeypatch):
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 25 * 3600)
    old = token_issued(0)
    monkeypatch.setattr(signing.time, "time", real_time)
    form = ApplicationForm(valid_data(issued=old))
    assert not form.is_valid()
    assert form.spam_code == "stale"
    form.refresh_token_if_unusable()
    assert form.data["issued"] != old
    assert signing.loads(form.data["issued"], salt=FORM_TOKEN_SALT, max_age=60)


@pytest.mark.parametrize("kind", ["missing", "forged", "other-salt"])
def test_a_missing_or_forged_timestamp_is_refused(kind):
    token = {
        "missing": "",
        "forged": "forged",
        "other-salt": signing.dumps({"t": 0}, salt="another-salt"),
    }[kind]
    form = ApplicationForm(valid_data(issued=token))
    assert not form.is_valid()
    assert form.spam_code == "tampered"


def test_the_form_offers_iso_countries_and_no_internal_partner_type():
    codes = dict(COUNTRY_CHOICES)
    assert len(codes) == 249
    assert codes["DE"] == "Germany" and codes["CI"] == "Côte d'Ivoire"
    assert [name for _, name in COUNTRY_CHOICES[:3]] == ["Afghanistan", "Åland Islands", "Albania"]  # by name
    types = [value for value, _ in ApplicationForm().fields["partner_type"].choices]
    assert "internal" not in types and {"reseller", "distributor", "referral", "supplier"} <= set(types)
    assert not ApplicationForm(valid_data(country="XX")).is_valid()
    assert not ApplicationForm(valid_data(partner_type="internal")).is_valid()


def test_review_filters_fall_back_to_the_open_queue_on_unknown_values():
    assert ReviewFilterForm({"status": "bogus", "country": "ZZ", "find": " acme "}).filters() == {
        "find": "acme",
        "status": "open",
        "partner_type": "",
        "country": "",
    }
    assert ReviewFilterForm(None).filters()["status"] == "open"
    assert ReviewFilterForm({"status": "approved", "partner_type": "distributor"}).filters()["partner_type"] == (
        "distributor"
    )


def test_business_days_skip_weekends():
    from onboarding.views import business_days_between

    monday = timezone.now().replace(year=2025, month=3, day=3, hour=9)
    assert business_days_between(monday, monday + timedelta(hours=5)) == 0
    assert business_days_between(monday, monday + timedelta(days=2)) == 2  # Wednesday
    friday = monday + timedelta(days=4)
    assert business_days_between(friday, friday + timedelta(days=3)) == 1  # over the weekend to Monday
    assert business_days_between(monday, monday + timedelta(days=14)) == 10
