"""Co-marketing forms. They parse and check input; every write goes through ``comarketing.services`` and
``comarketing.mdf``, whose ``DomainError`` lands on the field it names (``partnerhub.forms.add_domain_error``)."""

from __future__ import annotations

from django import forms

from comarketing import mdf
from comarketing.choices import AssetKind
from comarketing.models import AssetCategory
from partnerhub.errors import DomainError
from partnerhub.forms import PlainSelect, PlainTextInput

ACTIVITY_TYPES = [
    ("", "Choose a type"),
    ("Event", "Event"),
    ("Webinar", "Webinar"),
    ("Trade show", "Trade show"),
    ("Digital advertising", "Digital advertising"),
    ("E-mail campaign", "E-mail campaign"),
    ("Print", "Print"),
    ("Training", "Training"),
    ("Other", "Other"),
]
PROOF_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"
MAX_PROOFS = 10
MONEY_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "e.g. 2500.00"}


class AssetFilterForm(forms.Form):
    """The asset library's search and filters (GET). Categories are program-wide; tags are free text, set by
    clicking a tag on a card."""

    q = forms.CharField(
        label="Search assets",
        max_length=200,
        required=False,
        strip=True,
        widget=PlainTextInput(
            attrs={"type": "search", "placeholder": "Search titles, descriptions and tags", "autocomplete": "off"}
        ),
    )
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "All kinds"), *AssetKind.choices], required=False, widget=PlainSelect
    )
    category = forms.ChoiceField(label="Category", required=False, widget=PlainSelect)
    tag = forms.CharField(label="Tag", max_length=40, required=False, strip=True, widget=PlainTextInput)
    cobrand = forms.BooleanField(label="Co-brandable only", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = list(AssetCategory.objects.all())
        self.fields["category"].choices = [("", "All categories"), *((c.slug, c.name) for c in self.categories)]
        for name in ("kind", "category"):
            self.fields[name].error_messages["invalid_choice"] = "Choose one of the listed options."

    def filters(self) -> dict:
        """The valid filters; a field with an error counts as not set."""
        data = getattr(self, "cleaned_data", {}) if self.is_bound else {}
        category = next((c for c in self.categories if c.slug == data.get("category")), None)
        return {
            "q": data.get("q") or "",
            "kind": data.get("kind") or "",
            "category": category,
            "tag": (data.get("tag") or "").lower(),
            "cobrand": bool(data.get("cobrand")),
        }


class FundRequestForm(forms.Form):
    """A new MDF request. Amounts and dates are checked by ``mdf.request_submit``, which explains what to fix."""

    allocation = forms.ModelChoiceField(
        label="Fund",
        queryset=None,
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of your partner's funds.", "required": "Choose a fund."},
    )
    activity = forms.CharField(
        label="Activity",
        max_length=200,
        help_text="What you will run, e.g. “Cloud security breakfast, Berlin”.",
        error_messages={"required": "Name the activity."},
    )
    activity_type = forms.ChoiceField(label="Type", choices=ACTIVITY_TYPES, required=False)
    description = forms.CharField(
        label="Description",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Audience, channels and how you will measure results.",
    )
    planned_cost = forms.CharField(
        label="Planned cost",
        max_length=20,
        widget=forms.TextInput(attrs=MONEY_ATTRS),
        error_messages={"required": "Give the planned cost."},
    )
    expected_leads = forms.IntegerField(
        label="Expected leads",
        min_value=0,
        max_value=1_000_000,
        initial=0,
        error_messages={"invalid": "Give the expected leads as a whole number.", "required": "Give expected leads."},
    )
    starts_on = forms.DateField(
        label="Starts on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Give the date as YYYY-MM-DD.", "required": "Give the start date."},
    )
    ends_on = forms.DateField(
        label="Ends on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Give the date as YYYY-MM-DD.", "required": "Give the end date."},
    )

    def __init__(self, *args, allocations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allocation"].queryset = allocations
        self.fields["allocation"].label_from_instance = lambda a: (
            f"{a.program.name} · {a.available:,.2f} {a.program.currency} available"
        )


class MultipleProofInput(forms.FileInput):
    allow_multiple_selected = True


class ProofsField(forms.FileField):
    """Several proof files in one input (Django's documented pattern), each checked by its content here so a
    bad file is refused before anything is stored."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleProofInput(attrs={"multiple": True, "accept": PROOF_ACCEPT}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data] if data else [single(None, initial)]
        else:
            files = [single(data, initial)]
        files = [f for f in files if f]
        if len(files) > MAX_PROOFS:
            raise forms.ValidationError(f"Attach at most {MAX_PROOFS} files.")
        for upload in files:
            name = (upload.name or "proof").rsplit("/", 1)[-1]
            if upload.size > mdf.PROOF_MAX_BYTES:
                raise forms.ValidationError(f"“{name}” is larger than 15 MB.")
            try:
                mdf.sniff_proof(upload.read(64 * 1024), name)
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from None
            finally:
                upload.seek(0)
        return files


class ClaimForm(forms.Form):
    """Proof of performance for an approved request."""

    actual_cost = forms.CharField(
        label="Actual cost",
        max_length=20,
        widget=forms.TextInput(attrs=MONEY_ATTRS),
        help_text="What the activity cost; at most the approved amount.",
        error_messages={"required": "Give the actual cost."},
    )
    leads = forms.IntegerField(label="Leads", min_value=0, max_value=1_000_000, initial=0)
    deals = forms.IntegerField(label="Deals", min_value=0, max_value=1_000_000, initial=0)
    revenue = forms.DecimalField(
        label="Revenue",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        initial=0,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="Revenue from deals the activity produced.",
        error_messages={"invalid": "Give the revenue as a number, e.g. 12000 or 12000.50."},
    )
    notes = forms.CharField(label="Notes", max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    proofs = ProofsField(
        label="Proof of performance",
        help_text="Invoices, screenshots, attendee lists: PDF, PNG or JPEG, up to 15 MB each.",
        error_messages={"required": "Attach proof of performance (invoices, screenshots, attendee lists)."},
    )


class RequestDecisionForm(forms.Form):
    """A marketing manager's decision on an MDF request."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    amount = forms.CharField(label="Amount to approve", max_length=20, required=False)
    note = forms.CharField(label="Note to the partner", max_length=1000, required=False)


class ClaimDecisionForm(forms.Form):
    """A marketing manager's decision on a claim, or its payment."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject"), ("pay", "Mark paid")])
    note = forms.CharField(label="Note to the partner", max_length=1000, required=False)
    reference = forms.CharField(label="Payment reference", max_length=120, required=False)
