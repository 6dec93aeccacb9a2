"""Onboarding forms: the public application (with its spam traps), the applicant's reply, the reviewer's
actions and filters, and the partner's onboarding actions. Forms parse and check input; every write goes
through ``onboarding.services``."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from onboarding.choices import ApplicationStatus
from partnerhub.choices import PartnerType

# ISO 3166-1 alpha-2 codes with short English names, sorted by name.
_COUNTRY_DATA = """
AF Afghanistan
AX Åland Islands
AL Albania
DZ Algeria
AS American Samoa
AD Andorra
AO Angola
AI Anguilla
AQ Antarctica
AG Antigua and Barbuda
AR Argentina
AM Armenia
AW Aruba
AU Australia
AT Austria
AZ Azerbaijan
BS Bahamas
BH Bahrain
BD Bangladesh
BB Barbados
BY Belarus
BE Belgium
BZ Belize
BJ Benin
BM Bermuda
BT Bhutan
BO Bolivia
BA Bosnia and Herzegovina
BW Botswana
BV Bouvet Island
BR Brazil
IO British Indian Ocean Territory
VG British Virgin Islands
BN Brunei Darussalam
BG Bulgaria
BF Burkina Faso
BI Burundi
CV Cabo Verde
KH Cambodia
CM Cameroon
CA Canada
BQ Caribbean Netherlands
KY Cayman Islands
CF Central African Republic
TD Chad
CL Chile
CN China
CX Christmas Island
CC Cocos (Keeling) Islands
CO Colombia
KM Comoros
CD Congo (Democratic Republic)
CG Congo (Republic)
CK Cook Islands
CR Costa Rica
CI Côte d'Ivoire
HR Croatia
CU Cuba
CW Curaçao
CY Cyprus
CZ Czechia
DK Denmark
DJ Djibouti
DM Dominica
DO Dominican Republic
EC Ecuador
EG Egypt
SV El Salvador
GQ Equatorial Guinea
ER Eritrea
EE Estonia
SZ Eswatini
ET Ethiopia
FK Falkland Islands
FO Faroe Islands
FJ Fiji
FI Finland
FR France
GF French Guiana
PF French Polynesia
TF French Southern Territories
GA Gabon
GM Gambia
GE Georgia
DE Germany
GH Ghana
GI Gibraltar
GR Greece
GL Greenland
GD Grenada
GP Guadeloupe
GU Guam
GT Guatemala
GG Guernsey
GN Guinea
GW Guinea-Bissau
GY Guyana
HT Haiti
HM Heard Island and McDonald Islands
HN Honduras
HK Hong Kong
HU Hungary
IS Iceland
IN India
ID Indonesia
IR Iran
IQ Iraq
IE Ireland
IM Isle of Man
IL Israel
IT Italy
JM Jamaica
JP Japan
JE Jersey
JO Jordan
KZ Kazakhstan
KE Kenya
KI Kiribati
KW Kuwait
KG Kyrgyzstan
LA Laos
LV Latvia
LB Lebanon
LS Lesotho
LR Liberia
LY Libya
LI Liechtenstein
LT Lithuania
LU Luxembourg
MO Macao
MG Madagascar
MW Malawi
MY Malaysia
MV Maldives
ML Mali
MT Malta
MH Marshall Islands
MQ Martinique
MR Mauritania
MU Mauritius
YT Mayotte
MX Mexico
FM Micronesia
MD Moldova
MC Monaco
MN Mongolia
ME Montenegro
MS Montserrat
MA Morocco
MZ Mozambique
MM Myanmar
NA Namibia
NR Nauru
NP Nepal
NL Netherlands
NC New Caledonia
NZ New Zealand
NI Nicaragua
NE Niger
NG Nigeria
NU Niue
NF Norfolk Island
KP North Korea
MK North Macedonia
MP Northern Mariana Islands
NO Norway
OM Oman
PK Pakistan
PW Palau
PS Palestine
PA Panama
PG Papua New Guinea
PY Paraguay
PE Peru
PH Philippines
PN Pitcairn
PL Poland
PT Portugal
PR Puerto Rico
QA Qatar
RE Réunion
RO Romania
RU Russia
RW Rwanda
BL Saint Barthélemy
SH Saint Helena, Ascension and Tristan da Cunha
KN Saint Kitts and Nevis
LC Saint Lucia
MF Saint Martin (French part)
PM Saint Pierre and Miquelon
VC Saint Vincent and the Grenadines
WS Samoa
SM San Marino
ST Sao Tome and Principe
SA Saudi Arabia
SN Senegal
RS Serbia
SC Seychelles
SL Sierra Leone
SG Singapore
SX Sint Maarten (Dutch part)
SK Slovakia
SI Slovenia
SB Solomon Islands
SO Somalia
ZA South Africa
GS South Georgia and the South Sandwich Islands
KR South Korea
SS South Sudan
ES Spain
LK Sri Lanka
SD Sudan
SR Suriname
SJ Svalbard and Jan Mayen
SE Sweden
CH Switzerland
SY Syria
TW Taiwan
TJ Tajikistan
TZ Tanzania
TH Thailand
TL Timor-Leste
TG Togo
TK Tokelau
TO Tonga
TT Trinidad and Tobago
TN Tunisia
TR Türkiye
TM Turkmenistan
TC Turks and Caicos Islands
TV Tuvalu
VI U.S. Virgin Islands
UG Uganda
UA Ukraine
AE United Arab Emirates
GB United Kingdom
US United States
UM United States Minor Outlying Islands
UY Uruguay
UZ Uzbekistan
VU Vanuatu
VA Vatican City
VE Venezuela
VN Vietnam
WF Wallis and Futuna
EH Western Sahara
YE Yemen
ZM Zambia
ZW Zimbabwe
"""
COUNTRY_CHOICES: list[tuple[str, str]] = [
    (line[:2], line[3:]) for line in _COUNTRY_DATA.strip().splitlines() if line.strip()
]
COUNTRY_NAMES: dict[str, str] = dict(COUNTRY_CHOICES)

APPLICABLE_PARTNER_TYPES = [(value, label) for value, label in PartnerType.choices if value != PartnerType.INTERNAL]

# Spam traps of the public form -----------------------------------------------------------------------------------

FORM_TOKEN_SALT = "onboarding.apply-form"  # noqa: S105  (a signing salt, not a secret)
MIN_FILL_SECONDS = 3
MAX_FORM_AGE_SECONDS = 24 * 60 * 60
HONEYPOT_FIELD = "fax_number"

SPAM_MESSAGES = {
    "honeypot": "We could not accept this form. If you are a person, reload the page and send it again.",
    "too_fast": (
        "That was quicker than we expect anyone to fill in this form. Check your details, then send it again."
    ),
    "stale": "This form was open for more than a day, so we refreshed it. Check your details and send it again.",
    "tampered": "We could not check this form. Reload the page and send it again.",
}


def issue_form_token() -> str:
    """A signed note of when the form was handed out; the submission must come 3 s to 24 h later."""
    return signing.dumps({"t": timezone.now().timestamp()}, salt=FORM_TOKEN_SALT)


def _check_form_token(token: str) -> None:
    try:
        data = signing.loads(token or "", salt=FORM_TOKEN_SALT, max_age=MAX_FORM_AGE_SECONDS)
        issued = float(data["t"])
    except signing.SignatureExpired:
        raise ValidationError(SPAM_MESSAGES["stale"], code="stale") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(SPAM_MESSAGES["tampered"], code="tampered") from None
    if timezone.now().timestamp() - issued < MIN_FILL_SECONDS:
        raise ValidationError(SPAM_MESSAGES["too_fast"], code="too_fast")


class ApplicationForm(forms.Form):
    """The public partner application. Besides the fields a company fills in it carries two spam traps:
    a honeypot field people never see, and a signed timestamp of when the form was handed out."""

    company_name = forms.CharField(
        label="Company name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "organization"})
    )
    website = forms.URLField(
        label="Website",
        max_length=300,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"autocomplete": "url", "placeholder": "https://www.example.com"}),
    )
    country = forms.ChoiceField(
        label="Country",
        choices=[("", "Choose a country"), *COUNTRY_CHOICES],
        help_text="Where your company is registered.",
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )
    region = forms.CharField(
        label="Sales region",
        max_length=80,
        required=False,
        help_text="Where you sell, e.g. “DACH”, “US West” or “Nordics”.",
    )
    partner_type = forms.ChoiceField(
        label="Partner type",
        choices=[("", "Choose how you work with us"), *APPLICABLE_PARTNER_TYPES],
        help_text="Resellers sell to end customers, distributors supply resellers, referral partners recommend us.",
    )
    contact_first_name = forms.CharField(
        label="First name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    contact_last_name = forms.CharField(
        label="Last name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    contact_email = forms.EmailField(
        label="Work e-mail",
        max_length=254,
        help_text="We send the status link here; once approved, your portal invitation too.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label="Phone",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )
    contact_title = forms.CharField(
        label="Job title",
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    expected_annual_revenue = forms.DecimalField(
        label="Expected annual revenue (USD)",
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        help_text="Your estimate of yearly sales of our products, e.g. 250000.",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "min": "0", "step": "any"}),
    )
    expected_deals_per_quarter = forms.IntegerField(
        label="Expected deals per quarter",
        min_value=0,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": "0", "max": "100000"}),
    )
    business_description = forms.CharField(
        label="About your business",
        max_length=4000,
        help_text="Your customers, markets and services, and why you want to partner with us.",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    # Spam traps: not part of the application.
    fax_number = forms.CharField(
        label="Fax number",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    issued = forms.CharField(required=False, widget=forms.HiddenInput)

    SERVICE_FIELDS = (
        "company_name",
        "website",
        "country",
        "region",
        "partner_type",
        "contact_first_name",
        "contact_last_name",
        "contact_email",
        "contact_phone",
        "contact_title",
        "expected_annual_revenue",
        "expected_deals_per_quarter",
        "business_description",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("issued", issue_form_token())
        self.spam_code: str | None = None

    def clean(self):
        cleaned = super().clean()
        if (self.data.get(HONEYPOT_FIELD) or "").strip():
            self.spam_code = "honeypot"
            raise ValidationError(SPAM_MESSAGES["honeypot"], code="honeypot")
        try:
            _check_form_token(self.data.get("issued", ""))
        except ValidationError as exc:
            self.spam_code = exc.code
            raise
        return cleaned

    def refresh_token_if_unusable(self) -> None:
        """After a stale or unreadable timestamp, hand out a fresh one so the person can simply send again."""
        if self.spam_code in ("stale", "tampered"):
            self.data = self.data.copy()
            self.data["issued"] = issue_form_token()

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}

    @property
    def contact_fields(self):
        return [self[name] for name in ("contact_first_name", "contact_last_name", "contact_email", "contact_phone")]


class ReplyForm(forms.Form):
    """The applicant's answer to a reviewer's question (on the status page)."""

    message = forms.CharField(
        label="Your answer",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Our team reads it right away; you can add attachments later by e-mail if we ask for them.",
    )


# Review --------------------------------------------------------------------------------------------------------

QUEUE_STATUS_CHOICES = [
    ("open", "Open"),
    (ApplicationStatus.SUBMITTED, "Waiting for review"),
    (ApplicationStatus.INFO_REQUESTED, "Waiting for the applicant"),
    (ApplicationStatus.APPROVED, "Approved"),
    (ApplicationStatus.REJECTED, "Rejected"),
    ("all", "All applications"),
]


class ReviewFilterForm(forms.Form):
    """Filters of the review queue; unknown values fall back to the defaults instead of failing."""

    # Not "q": the isolation walk treats an echoed "q" or "search" value as partner data on the page.
    find = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Company, contact, e-mail or domain"}),
    )
    status = forms.ChoiceField(label="Status", choices=QUEUE_STATUS_CHOICES, required=False)
    partner_type = forms.ChoiceField(
        label="Type", choices=[("", "Any type"), *APPLICABLE_PARTNER_TYPES], required=False
    )
    country = forms.ChoiceField(label="Country", choices=[("", "Any country"), *COUNTRY_CHOICES], required=False)

    def filters(self) -> dict:
        """The valid filters (an invalid one is dropped and reported as a field error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "find": (data.get("find") or "").strip(),
            "status": data.get("status") or "open",
            "partner_type": data.get("partner_type") or "",
            "country": data.get("country") or "",
        }


class ApproveForm(forms.Form):
    tier = forms.ModelChoiceField(
        label="Tier",
        queryset=None,
        required=False,
        empty_label="No tier yet",
        help_text="The partner starts in this tier; it can be changed later in the console.",
    )
    note = forms.CharField(
        label="Note to the applicant",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Sent with the welcome e-mail.",
    )

    def __init__(self, *args, tiers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = tiers


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. The applicant receives it, so write it for them.",
        error_messages={"required": "Give the reason; the applicant receives it."},
    )


class RequestInfoForm(forms.Form):
    message = forms.CharField(
        label="Question for the applicant",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The applicant gets it by e-mail and answers on their status page.",
        error_messages={"required": "Say what information you need."},
    )


class NoteForm(forms.Form):
    message = forms.CharField(
        label="Internal note",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only reviewers see notes; the applicant never does.",
        error_messages={"required": "Write the note."},
    )


# Partner onboarding --------------------------------------------------------------------------------------------


class AgreementAcceptForm(forms.Form):
    """Click-through acceptance: the version read is posted back, so a newer version is never accepted unread."""

    agreement = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    confirm = forms.BooleanField(
        error_messages={"required": "Tick the box to confirm that you have read the agreement and accept it."},
    )


class ChecklistItemForm(forms.Form):
    done = forms.TypedChoiceField(
        choices=[("1", "Done"), ("0", "Not done")], coerce=lambda value: value == "1", empty_value=True, required=False
    )


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label="Tax form",
        help_text="PDF, PNG or JPEG, up to 10 MB. We check the file's content, not only its name.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
        error_messages={"required": "Choose the file to upload.", "empty": "The file is empty."},
    )
