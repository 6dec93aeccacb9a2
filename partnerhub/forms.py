"""Portal forms. They parse and check input; every write goes through ``partnerhub.services``."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm, UsernameField
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from partnerhub.auth_backends import user_may_sign_in
from partnerhub.choices import MembershipRole
from partnerhub.errors import DomainError
from partnerhub.models import User
from partnerhub.models.partners import hex_colour_validator


def _html_attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``, in Python."""
    return mark_safe(  # noqa: S308 (every name and value goes through format_html)
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value))
            for name, value in attrs.items()
            if value is not False
        )
    )


class PlainSelect(forms.Select):
    """A ``Select`` written in Python: the same HTML as Django's ``select.html`` and ``select_option.html``
    (a test compares them), without rendering two templates per option. For the menus a busy list draws on
    every page view (the desk's bulk bar: a teammate per option)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], _html_attrs(widget["attrs"]))]
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in group_choices:
                parts.append(
                    format_html(
                        '\n  <option value="{}"{}>{}</option>\n',
                        str(option["value"]),
                        _html_attrs(option["attrs"]),
                        option["label"],
                    )
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (built with format_html)


class PlainInputMixin:
    """An ``Input`` written in Python: the same HTML as Django's ``input.html`` and ``attrs.html`` (a test compares
    them), without rendering two templates per field. For the fields a busy page draws on every view (the
    asset library's search box, the team page's invitation form)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else format_html(' value="{}"', str(widget["value"]))
        return format_html(
            '<input type="{}" name="{}"{}{}>', widget["type"], widget["name"], shown, _html_attrs(widget["attrs"])
        )


class PlainTextInput(PlainInputMixin, forms.TextInput):
    pass


class PlainEmailInput(PlainInputMixin, forms.EmailInput):
    pass


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's ``DomainError`` on the field it names, or above the form."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


# Sign-in -------------------------------------------------------------------------------------------------------


class LoginForm(AuthenticationForm):
    """Sign in with e-mail or username. On a partner's host only that partner's people (and staff) get in."""

    username = UsernameField(
        label="Email or username",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": "The e-mail, username or password is not right. Check them and try again.",
        "inactive": "This account is disabled.",
        "suspended": (
            "Your portal access is suspended: your partner account is not active on the portal right now. "
            "Contact your channel manager."
        ),
        "wrong_portal": (
            "This account does not belong to this partner portal. Sign in at your own partner's portal address."
        ),
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if self._is_suspended_member():
                raise ValidationError(self.error_messages["suspended"], code="suspended") from None
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        host_brand = getattr(self.request, "host_brand", None)
        if host_brand is None or user.is_staff or user.is_superuser:
            return
        from partnerhub import selectors

        if not _belongs_to_host(user, host_brand) and not selectors.has_open_invitation(
            user=user, partner_id=host_brand.partner_id
        ):
            raise ValidationError(self.error_messages["wrong_portal"], code="wrong_portal")

    def _is_suspended_member(self) -> bool:
        """The password was right but none of the person's partners may sign in (suspended or offboarded).

        Only asked after a failed sign-in that axes has already counted, and never while locked out, so it
        gives nothing to someone guessing passwords.
        """
        if self.request is None or getattr(self.request, "axes_locked_out", False):
            return False
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return False
        try:
            user = User._default_manager.get_by_natural_key(username)
        except (User.DoesNotExist, User.MultipleObjectsReturned):
            return False
        return user.is_active and not user.is_staff and user.check_password(password) and not user_may_sign_in(user)


def _belongs_to_host(user, host_brand) -> bool:
    from partnerhub import selectors

    return any(p.pk == host_brand.partner_id for p in selectors.user_partners(user=user))


class BrandedPasswordResetForm(PasswordResetForm):
    """Password reset. On a partner's host only that partner's people get a link (in that partner's brand)."""

    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def __init__(self, *args, host_brand=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.host_brand = host_brand

    def get_users(self, email):
        for user in super().get_users(email):
            if self.host_brand is None or user.is_staff or _belongs_to_host(user, self.host_brand):
                yield user


class NewPasswordForm(SetPasswordForm):
    """Choose a new password (reset link)."""


# Invitations ---------------------------------------------------------------------------------------------------


class InvitationSignupForm(forms.Form):
    """Create the account an invitation is for."""

    first_name = forms.CharField(
        label="First name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password and not only digits.",
    )
    password2 = forms.CharField(
        label="Repeat password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ; type the same password twice.")
        elif p1:
            candidate = User(
                username=self.email,
                email=self.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(p1, candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


# Team ----------------------------------------------------------------------------------------------------------

ROLE_CHOICES = [(MembershipRole.REP.value, "Partner rep"), (MembershipRole.ADMIN.value, "Partner admin")]


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=PlainEmailInput(attrs={"autocomplete": "off", "placeholder": "name@company.com"}),
    )
    role = forms.ChoiceField(
        label="Role",
        choices=ROLE_CHOICES,
        widget=PlainSelect,
        initial=MembershipRole.REP,
        help_text="Admins manage the team, brand and API keys; reps do the day-to-day work.",
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)


class SwitchPartnerForm(forms.Form):
    partner = forms.IntegerField(label="Partner", min_value=1)


# Settings ------------------------------------------------------------------------------------------------------


class ColourField(forms.CharField):
    """A ``#rrggbb`` colour; anything else (names, CSS, url()) is refused before it reaches a service."""

    default_validators = [hex_colour_validator]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 7)
        kwargs.setdefault("min_length", 7)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"pattern": "#[0-9a-fA-F]{6}", "spellcheck": "false", "autocomplete": "off", "class": "input-colour"}
        )

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().lower() if value else value

    def run_validators(self, value):
        # min/max length errors would repeat the format error; report the format only.
        if value in self.empty_values:
            return
        try:
            hex_colour_validator(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code="invalid") from None


class BrandForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=120,
        help_text="Shown in the portal header, on your sign-in page and in e-mails.",
        widget=forms.TextInput(attrs={"data-preview-text": "display_name", "autocomplete": "organization"}),
    )
    tagline = forms.CharField(
        label="Tagline",
        max_length=160,
        required=False,
        help_text="One line under your name, e.g. “Cloud security for the Nordics”.",
        widget=forms.TextInput(attrs={"data-preview-text": "tagline"}),
    )
    primary_color = ColourField(label="Primary colour", help_text="Header and buttons, e.g. #1f4fd1.")
    accent_color = ColourField(label="Accent colour", help_text="Highlights and badges, e.g. #0f9d8a.")
    logo = forms.FileField(
        label="Logo",
        required=False,
        # A plain file input: the "remove" choice is its own checkbox below.
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
        help_text="PNG, JPEG, WebP or GIF up to 2 MB. We store a clean PNG copy; SVG is not accepted.",
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)
    support_email = forms.EmailField(
        label="Support e-mail", max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    support_phone = forms.CharField(
        label="Support phone",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("display_name", "tagline", "primary_color", "accent_color", "support_email", "support_phone")
        }


EXPIRY_CHOICES = [(30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": "e.g. CRM sync", "autocomplete": "off"}),
        help_text="Name it after the system that will use it.",
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires after", choices=EXPIRY_CHOICES, coerce=int, initial=90, empty_value=None
    )
