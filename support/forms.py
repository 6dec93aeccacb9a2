"""Support forms: they parse and check input; every write goes through ``support.services``.

Choices that depend on the reader (the partner's team, the vendor's agents, which kinds of message a person may
write) are passed in by the view, so a form never offers what the service would refuse.
"""

from __future__ import annotations

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from partnerhub.forms import PlainSelect
from support.choices import ArticleStatus, Priority, TicketStatus, Visibility
from support.models import Category
from support.services import ATTACHMENT_MAX_BYTES, ATTACHMENTS_PER_MESSAGE

ATTACHMENT_HELP = (
    f"Up to {ATTACHMENTS_PER_MESSAGE} files of at most {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB each: "
    "PDF, PNG, JPEG, GIF, WebP or plain text."
)
ATTACHMENT_ACCEPT = ".pdf,.png,.jpg,.jpeg,.gif,.webp,.txt,.log,.csv,application/pdf,image/*,text/plain"


def person_label(user) -> str:
    return user.get_full_name() or user.email or user.username


def suggest_while_typing(form: forms.Form, url: str, target: str = "#suggestions") -> None:
    """Ask ``url`` for matching articles as the subject or description is typed (htmx, 400 ms after a pause)."""
    for name in ("subject", "description"):
        form.fields[name].widget.attrs.update(
            {
                "hx-get": url,
                "hx-trigger": "keyup changed delay:400ms, change",
                "hx-include": "[name='subject'], [name='description']",
                "hx-target": target,
                "hx-swap": "innerHTML",
                "hx-sync": "closest form:replace",
                "aria-controls": target.lstrip("#"),
            }
        )


# Attachments ---------------------------------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern). The service checks each file by content."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"multiple": True, "accept": ATTACHMENT_ACCEPT, "class": "file-input"})
        )
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", ATTACHMENT_HELP)
        kwargs.setdefault("label", "Attachments")
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [single(item, initial) for item in files if item]
        if len(files) > ATTACHMENTS_PER_MESSAGE:
            raise ValidationError(f"Attach at most {ATTACHMENTS_PER_MESSAGE} files to one message.")
        for upload in files:
            if upload.size > ATTACHMENT_MAX_BYTES:
                raise ValidationError(f"“{upload.name}” is larger than {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.")
        return files


# Desk ----------------------------------------------------------------------------------------------------------

BULK_ACTIONS = [("assign", "Assign"), ("status", "Set status"), ("priority", "Set priority")]
SETTABLE_STATUSES = [(value, label) for value, label in TicketStatus.choices if value != TicketStatus.ESCALATED]
BULK_LIMIT = 100


class IdListField(forms.Field):
    """Ticket ids ticked on the desk: whole numbers, at most ``BULK_LIMIT`` of them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        ids = []
        for item in values:
            try:
                number = int(str(item).strip())
            except ValueError:
                raise ValidationError("Tick tickets in the list.") from None
            if number <= 0 or number > 2**62:
                raise ValidationError("Tick tickets in the list.")
            ids.append(number)
        if len(ids) > BULK_LIMIT:
            raise ValidationError(f"Change at most {BULK_LIMIT} tickets at once.")
        return sorted(set(ids))

    def validate(self, value):
        if not value:
            raise ValidationError("Tick at least one ticket.")


class BulkActionForm(forms.Form):
    """The desk's bulk bar: assign, set status or set priority on the ticked tickets."""

    ticket = IdListField()
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    # Drawn on every view of the desk: written in Python rather than through a template per option
    assignee = forms.ChoiceField(required=False, label="Assign to", widget=PlainSelect)
    status = forms.ChoiceField(required=False, choices=[("", "Status…"), *SETTABLE_STATUSES], widget=PlainSelect)
    priority = forms.ChoiceField(required=False, choices=[("", "Priority…"), *Priority.choices], widget=PlainSelect)

    def __init__(self, *args, team=(), me=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = {str(user.pk): user for user in team}
        self.me = me
        self.fields["assignee"].choices = [
            ("", "Assign to…"),
            ("me", "Me"),
            ("nobody", "Nobody (unassign)"),
            *[(pk, person_label(user)) for pk, user in self.team.items() if user != me],
        ]

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "assign":
            choice = cleaned.get("assignee")
            if not choice:
                self.add_error("assignee", "Choose who gets the tickets.")
            cleaned["assignee_user"] = (
                self.me if choice == "me" else None if choice == "nobody" else self.team.get(choice)
            )
        elif action == "status" and not cleaned.get("status"):
            self.add_error("status", "Choose the new status.")
        elif action == "priority" and not cleaned.get("priority"):
            self.add_error("priority", "Choose the new priority.")
        return cleaned

    def service_kwargs(self) -> dict:
        action = self.cleaned_data["action"]
        if action == "assign":
            return {"assignee": self.cleaned_data["assignee_user"]}
        if action == "status":
            return {"status": self.cleaned_data["status"]}
        return {"priority": self.cleaned_data["priority"]}


# Tickets -------------------------------------------------------------------------------------------------------

REQUESTER_KINDS = [("me", "Me"), ("teammate", "A teammate"), ("customer", "A customer")]


class TicketForm(forms.Form):
    """A new ticket, filed by the signed-in partner user for themselves, a teammate or an end customer."""

    subject = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Router drops the VPN every hour"}),
    )
    description = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text="What happened, what you expected, and what you already tried.",
    )
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, empty_label="No category")
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    requester_kind = forms.ChoiceField(
        label="Requester", choices=REQUESTER_KINDS, initial="me", widget=forms.RadioSelect
    )
    requester = forms.ChoiceField(label="Teammate", required=False)
    customer_email = forms.EmailField(
        label="Customer's e-mail",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"list": "customer-emails", "autocomplete": "off"}),
        help_text="An existing customer of yours, or a new one: they get e-mail updates on public replies.",
    )
    customer_name = forms.CharField(label="Customer's name", required=False, max_length=120)
    attachments = MultipleFileField()

    def __init__(self, *args, team=(), me=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = {str(user.pk): user for user in team if user != me}
        self.fields["requester"].choices = [
            ("", "Choose a teammate"),
            *[(pk, person_label(u)) for pk, u in self.team.items()],
        ]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("requester_kind")
        cleaned["requester_user"] = None
        if kind == "teammate":
            user = self.team.get(cleaned.get("requester") or "")
            if user is None:
                self.add_error("requester", "Choose the teammate who needs help.")
            cleaned["requester_user"] = user
        elif kind == "customer" and not cleaned.get("customer_email") and "customer_email" not in self.errors:
            self.add_error("customer_email", "Enter the customer's e-mail address.")
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Message", max_length=20000, widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Write a reply…"})
    )
    visibility = forms.ChoiceField(widget=forms.RadioSelect, initial=Visibility.PUBLIC)
    attachments = MultipleFileField()

    PARTNER_CHOICES = [
        (Visibility.PUBLIC, "Public reply"),
        (Visibility.PARTNER_NOTE, "Internal note"),
    ]
    VENDOR_CHOICES = [
        (Visibility.PUBLIC, "Public reply"),
        (Visibility.PARTNER_NOTE, "Note to the partner"),
        (Visibility.VENDOR_NOTE, "Vendor-only note"),
    ]

    def __init__(self, *args, vendor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visibility"].choices = self.VENDOR_CHOICES if vendor else self.PARTNER_CHOICES


class CustomerReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply", max_length=20000, widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Write a reply…"})
    )
    attachments = MultipleFileField()


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Change status…"), *SETTABLE_STATUSES], error_messages={"required": "Choose the new status."}
    )
    note = forms.CharField(required=False, max_length=1000, label="Note")


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assignee", required=False)

    def __init__(self, *args, team=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.team = {str(user.pk): user for user in team}
        self.fields["assignee"].choices = [("", "Nobody"), *[(pk, person_label(u)) for pk, u in self.team.items()]]

    @property
    def user(self):
        return self.team.get(self.cleaned_data.get("assignee") or "")


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label="Why the vendor is needed",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you found and tried; the vendor's agents read this first.",
    )


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="How did we do?",
        coerce=int,
        choices=[(5, "5 — Excellent"), (4, "4 — Good"), (3, "3 — OK"), (2, "2 — Poor"), (1, "1 — Very poor")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Comment", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class VendorAssignForm(forms.Form):
    agent = forms.ChoiceField(label="Vendor agent", required=False)

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.agents = {str(user.pk): user for user in agents}
        self.fields["agent"].choices = [("", "Nobody"), *[(pk, person_label(u)) for pk, u in self.agents.items()]]

    @property
    def chosen_agent(self):
        return self.agents.get(self.cleaned_data.get("agent") or "")


class AgentStatusForm(forms.Form):
    """What a vendor agent does with an escalation: hand it back to the partner, or resolve it."""

    status = forms.ChoiceField(
        label="Outcome",
        choices=[(TicketStatus.OPEN, "Return to the partner's first line"), (TicketStatus.RESOLVED, "Resolve")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose return or resolve."},
    )
    note = forms.CharField(required=False, max_length=1000, label="Note", help_text="Shown in the ticket's history.")


# Knowledge base ------------------------------------------------------------------------------------------------

BODY_FORMATS = [("text", "Plain text"), ("html", "Simple HTML")]


class ArticleForm(forms.Form):
    """A partner's own (private) article. Plain text becomes paragraphs; HTML is cleaned to a safe subset."""

    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=300, required=False, help_text="One sentence shown in lists and search.")
    body_format = forms.ChoiceField(label="Format", choices=BODY_FORMATS, initial="text", widget=forms.RadioSelect)
    body = forms.CharField(
        max_length=100000,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
        help_text=(
            "Plain text: blank lines separate paragraphs. Simple HTML: paragraphs, lists, links, headings, "
            "tables, code and images are kept; scripts and styles are removed."
        ),
    )
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, empty_label="No category")
    customer_visible = forms.BooleanField(
        required=False, initial=True, label="Show in our help center", help_text="Your customers can read it there."
    )
    status = forms.ChoiceField(choices=ArticleStatus.choices, initial=ArticleStatus.DRAFT)

    def service_fields(self) -> dict:
        from support.services import text_to_html

        data = self.cleaned_data
        body = data["body"] if data["body_format"] == "html" else text_to_html(data["body"])
        return {
            "title": data["title"],
            "summary": data["summary"],
            "body": body,
            "category": data["category"],
            "customer_visible": data["customer_visible"],
            "status": data["status"],
        }


class VoteForm(forms.Form):
    helpful = forms.TypedChoiceField(choices=[("yes", "Yes"), ("no", "No")], coerce=lambda value: value == "yes")


# Help center ---------------------------------------------------------------------------------------------------

HELP_FORM_SALT = "support.help-request-form"
MIN_FILL_SECONDS = 3
MAX_FORM_AGE_SECONDS = 24 * 60 * 60
HONEYPOT_FIELD = "website"

SPAM_MESSAGES = {
    "honeypot": "We could not accept this form. If you are a person, reload the page and send it again.",
    "too_fast": "That was quicker than we expect anyone to fill in this form. Check your request and send it again.",
    "stale": "This form was open for more than a day, so we refreshed it. Check your request and send it again.",
    "tampered": "We could not check this form. Reload the page and send it again.",
}


def issue_form_token() -> str:
    """A signed note of when the form was handed out; a submission must come 3 s to 24 h later."""
    return signing.dumps({"t": timezone.now().timestamp()}, salt=HELP_FORM_SALT)


class HelpRequestForm(forms.Form):
    """The help center's "Contact support" form. Two spam traps besides the per-address rate limit: a field
    people never see (``website``) and a signed timestamp of when the form was handed out."""

    name = forms.CharField(label="Your name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(
        label="Your e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send you a link to confirm it; your request is sent once you open it.",
    )
    subject = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        label="How can we help?",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text="What happened, what you expected, and anything you already tried.",
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, empty_label="Not sure", label="Topic"
    )
    issued = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("issued", issue_form_token())
        self.spam_code: str | None = None

    def clean(self):
        cleaned = super().clean()
        if (self.data.get(HONEYPOT_FIELD) or "").strip():
            self.spam_code = "honeypot"
        else:
            self.spam_code = self._token_problem(self.data.get("issued", ""))
        if self.spam_code:
            raise ValidationError(SPAM_MESSAGES[self.spam_code], code=self.spam_code)
        return cleaned

    @staticmethod
    def _token_problem(token: str) -> str | None:
        try:
            issued = float(signing.loads(token or "", salt=HELP_FORM_SALT, max_age=MAX_FORM_AGE_SECONDS)["t"])
        except signing.SignatureExpired:
            return "stale"
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            return "tampered"
        if timezone.now().timestamp() - issued < MIN_FILL_SECONDS:
            return "too_fast"
        return None

    def refresh_token_if_unusable(self) -> None:
        """After a stale or unreadable timestamp hand out a fresh one, so a person can simply send again."""
        if self.spam_code in ("stale", "tampered"):
            self.data = self.data.copy()
            self.data["issued"] = issue_form_token()
