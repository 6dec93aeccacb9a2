"""Serializers of the core API: what a request may carry and what a response shows.

Serializers validate shape and format only; business rules live in ``partnerhub.services``. Every serializer
rejects fields it does not accept (``StrictFieldsMixin``), so a typo or an attempt to set a read-only field
(``partner``) is a 400 naming the field rather than a silent no-op.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from partnerhub import access, roles
from partnerhub.api.base import IdRelatedField, ScopedRelatedField
from partnerhub.choices import PartnerStatus, StaffRole
from partnerhub.models import ApiToken, Invitation, Membership, Partner, PartnerBrand, Tier, User
from partnerhub.models.partners import hex_colour_validator, subdomain_validator

country_validator = RegexValidator(r"^[A-Za-z]{2}$", "Enter a two-letter ISO 3166-1 country code, for example DE.")
# "+", not "*": an empty value is accepted by ``allow_blank`` before validators run, and a pattern that also
# matched "" would make the schema's oneOf (pattern | empty) ambiguous for it.
phone_validator = RegexValidator(
    r"^[0-9+().\- ]+$", "Use digits, spaces and + ( ) - . only, for example +49 30 1234567."
)
TEXT_MAX_LENGTH = 5000
INVITATION_STATES = ("pending", "accepted", "revoked", "expired")
INITIAL_STATUSES = (PartnerStatus.PROSPECT, PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE)


class StrictFieldsMixin:
    """Refuses input keys the serializer does not accept, naming each one.

    A key that is not a field at all gets ``unknown_field``; a key naming a read-only field gets
    ``read_only``. Both are 400s, so clients learn about typos instead of wondering why nothing changed.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = sorted(name for name, field in self.fields.items() if not field.read_only)
            errors = {}
            for key in data:
                if key in writable:
                    continue
                if key in self.fields:
                    errors[key] = [ErrorDetail("This field is read-only and cannot be set.", code="read_only")]
                else:
                    accepted = ", ".join(writable) or "none"
                    errors[key] = [
                        ErrorDetail(f"Unknown field; remove it. Accepted fields: {accepted}.", code="unknown_field")
                    ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


# The logo's address, or null while the partner has none.
LOGO_URL_FIELD = serializers.URLField(allow_null=True, read_only=True)


def _logo_url(brand: PartnerBrand | None, request) -> str | None:
    if brand is None or not brand.logo:
        return None
    url = brand.logo.url
    return request.build_absolute_uri(url) if request is not None else url


# Summaries (nested, read-only) ---------------------------------------------------------------------------------


class UserSummarySerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "email", "first_name", "last_name", "display_name")
        read_only_fields = fields


class BrandSummarySerializer(serializers.ModelSerializer):
    logo_url = serializers.SerializerMethodField()

    class Meta:
        model = PartnerBrand
        fields = ("display_name", "primary_color", "accent_color", "subdomain", "logo_url")
        read_only_fields = fields

    @extend_schema_field(LOGO_URL_FIELD)
    def get_logo_url(self, obj: PartnerBrand) -> str | None:
        return _logo_url(obj, self.context.get("request"))


class PartnerSummarySerializer(serializers.ModelSerializer):
    brand = BrandSummarySerializer(read_only=True)

    class Meta:
        model = Partner
        fields = ("id", "name", "slug", "partner_type", "status", "brand")
        read_only_fields = fields


# Partners ------------------------------------------------------------------------------------------------------


class PartnerSerializer(StrictModelSerializer):
    """A partner organisation. Vendor staff edit the profile; status changes go through the status actions."""

    tier = IdRelatedField(queryset=Tier.objects.all(), allow_null=True, required=False)
    # No ``default``: on a partial update DRF skips a field whose default it would use, which dropped the key.
    tier_name = serializers.CharField(source="tier.name", read_only=True, allow_null=True)
    # A parent is a distributor the caller can see; an id outside that scope reads like a missing one.
    parent = ScopedRelatedField(queryset=Partner.objects.all(), allow_null=True, required=False)
    country = serializers.CharField(max_length=2, allow_blank=True, required=False, validators=[country_validator])
    brand = BrandSummarySerializer(read_only=True)

    class Meta:
        model = Partner
        fields = (
            "id",
            "name",
            "slug",
            "partner_type",
            "status",
            "status_changed_at",
            "status_reason",
            "tier",
            "tier_name",
            "parent",
            "website",
            "country",
            "region",
            "brand",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("slug", "status", "status_changed_at", "status_reason", "created_at", "updated_at")

    def validate_country(self, value: str) -> str:
        return value.upper()


class PartnerCreateSerializer(PartnerSerializer):
    """Creating a partner also sets its slug, starting status and the brand's colours and subdomain."""

    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=PartnerStatus.choices,
        default=PartnerStatus.PROSPECT,
        help_text="The starting status: prospect, onboarding or active.",
    )
    primary_color = serializers.CharField(
        max_length=7, required=False, write_only=True, validators=[hex_colour_validator]
    )
    accent_color = serializers.CharField(
        max_length=7, required=False, write_only=True, validators=[hex_colour_validator]
    )
    subdomain = serializers.CharField(
        max_length=63, required=False, allow_blank=True, write_only=True, validators=[subdomain_validator]
    )

    class Meta(PartnerSerializer.Meta):
        fields = (*PartnerSerializer.Meta.fields, "primary_color", "accent_color", "subdomain")
        read_only_fields = ("status_changed_at", "status_reason", "created_at", "updated_at")
        extra_kwargs = {"partner_type": {"required": True}}

    def validate_status(self, value: str) -> str:
        if value not in INITIAL_STATUSES:
            raise serializers.ValidationError(
                "A new partner starts as prospect, onboarding or active; suspend or offboard it afterwards.",
                code="invalid_choice",
            )
        return value

    def validate_subdomain(self, value: str) -> str:
        value = value.strip().lower()
        if value and PartnerBrand.objects.filter(subdomain=value).exists():
            raise serializers.ValidationError("This subdomain is taken; choose another.", code="unique")
        return value

    def validate_primary_color(self, value: str) -> str:
        return value.lower()

    def validate_accent_color(self, value: str) -> str:
        return value.lower()


class StatusChangeSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=500, help_text="Why the status changes; recorded in the audit trail and shown to the partner."
    )


# Brands --------------------------------------------------------------------------------------------------------


# Which portal address a brand answers on is vendor configuration: a partner admin who could claim any host name
# could dress another portal (or the vendor's own) in their colours.
BRAND_STAFF_ONLY_FIELDS = ("subdomain", "custom_domain")
STAFF_ONLY_MESSAGE = "Only vendor staff can change the portal's address; ask your channel manager."


class PartnerBrandSerializer(StrictModelSerializer):
    """How a partner's portal looks. Colours are ``#rrggbb``; the logo has its own upload endpoint."""

    logo_url = serializers.SerializerMethodField()
    support_phone = serializers.CharField(max_length=40, allow_blank=True, required=False, validators=[phone_validator])

    STAFF_ONLY_FIELDS = BRAND_STAFF_ONLY_FIELDS

    class Meta:
        model = PartnerBrand
        fields = (
            "partner",
            "display_name",
            "tagline",
            "primary_color",
            "accent_color",
            "subdomain",
            "custom_domain",
            "support_email",
            "support_phone",
            "logo_url",
            "logo_width",
            "logo_height",
            "version",
            "updated_at",
        )
        read_only_fields = ("partner", "logo_width", "logo_height", "version", "updated_at")
        # ``staff_only`` is listed with each field's messages, so the API schema names it among their error codes.
        extra_kwargs = {
            "support_email": {"max_length": 254},
            **{name: {"error_messages": {"staff_only": STAFF_ONLY_MESSAGE}} for name in BRAND_STAFF_ONLY_FIELDS},
        }

    @extend_schema_field(LOGO_URL_FIELD)
    def get_logo_url(self, obj: PartnerBrand) -> str | None:
        return _logo_url(obj, self.context.get("request"))

    def validate(self, attrs):
        request = self.context.get("request")
        if not access.is_vendor_staff(getattr(request, "user", None)):
            errors = {
                name: [ErrorDetail(STAFF_ONLY_MESSAGE, code="staff_only")]
                for name in self.STAFF_ONLY_FIELDS
                if name in attrs and attrs[name] != getattr(self.instance, name, None)
            }
            if errors:
                raise serializers.ValidationError(errors, code="staff_only")
        return attrs

    def validate_custom_domain(self, value: str) -> str:
        value = value.strip().lower()
        base = settings.PORTAL_BASE_DOMAIN
        if value and base and (value == base or value.endswith("." + base)):
            raise serializers.ValidationError(
                f"Addresses under {base} are set with the subdomain; use a domain the partner owns.", code="invalid"
            )
        return value


class LogoUploadSerializer(StrictSerializer):
    logo = serializers.FileField(
        allow_empty_file=False,
        max_length=200,
        help_text="A PNG, JPEG, WebP or GIF image (at most 2 MB). It is re-encoded as PNG; SVG is refused.",
    )


# Tiers ---------------------------------------------------------------------------------------------------------


class TierSerializer(StrictModelSerializer):
    partner_count = serializers.SerializerMethodField(help_text="Partners on this tier (vendor staff only).")
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)

    class Meta:
        model = Tier
        fields = (
            "id",
            "name",
            "slug",
            "rank",
            "description",
            "min_annual_revenue",
            "min_certified_reps",
            "requirements",
            "benefits",
            "discount_percent",
            "partner_count",
        )
        extra_kwargs = {
            "description": {"max_length": TEXT_MAX_LENGTH},
            "requirements": {"max_length": TEXT_MAX_LENGTH},
            "benefits": {"max_length": TEXT_MAX_LENGTH},
        }

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_partner_count(self, obj: Tier) -> int | None:
        # How many partners sit on each tier is program data for vendor staff, not for competing partners.
        request = self.context.get("request")
        if not access.is_vendor_staff(getattr(request, "user", None)):
            return None
        count = getattr(obj, "partner_count", None)
        return count if count is not None else obj.partners.count()


# Memberships and invitations -----------------------------------------------------------------------------------


class MembershipSerializer(StrictModelSerializer):
    """A person's place in a partner. Role, title and active flag change; people join through invitations."""

    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "partner", "user", "role", "title", "is_active", "created_at", "deactivated_at")
        read_only_fields = ("partner", "created_at", "deactivated_at")


class InvitationSerializer(StrictModelSerializer):
    """An invitation by e-mail. The link itself is never shown by the API; it goes to the invitee only."""

    # "add" on an invitation's partner: partners the caller may invite people to. Any other id reads as missing.
    partner = ScopedRelatedField(queryset=Partner.objects.all(), access_action="add")
    state = serializers.SerializerMethodField()
    invited_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = Invitation
        fields = (
            "id",
            "partner",
            "email",
            "role",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        )
        read_only_fields = ("created_at", "expires_at", "accepted_at", "revoked_at")
        extra_kwargs = {"email": {"max_length": 254}}

    @extend_schema_field(serializers.ChoiceField(choices=INVITATION_STATES))
    def get_state(self, obj: Invitation) -> str:
        return obj.state


class EmptySerializer(StrictSerializer):
    """For actions that take no input: any field sent is refused."""


# The caller ----------------------------------------------------------------------------------------------------


class MyMembershipSerializer(serializers.ModelSerializer):
    partner = PartnerSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "role", "title", "partner", "created_at")
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user, the partners they act for and their vendor staff roles."""

    display_name = serializers.CharField(read_only=True)
    memberships = serializers.SerializerMethodField()
    staff_roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "display_name",
            "is_staff",
            "memberships",
            "staff_roles",
        )
        read_only_fields = fields

    @extend_schema_field(MyMembershipSerializer(many=True))
    def get_memberships(self, obj: User) -> list[dict]:
        from partnerhub import selectors

        rows = selectors.memberships_of_user(user=obj).order_by("partner__name", "id")
        return MyMembershipSerializer(rows, many=True, context=self.context).data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=StaffRole.choices)))
    def get_staff_roles(self, obj: User) -> list[str]:
        if not obj.is_staff:
            return []
        names = set(obj.groups.filter(name__in=roles.GROUP_NAMES.values()).values_list("name", flat=True))
        return [role for role, name in roles.GROUP_NAMES.items() if name in names]


class ApiTokenSerializer(serializers.ModelSerializer):
    """An API key as listed: its public prefix, never the key or its hash."""

    class Meta:
        model = ApiToken
        fields = ("token_key", "name", "created", "expiry", "last_used_at")
        read_only_fields = fields


class ApiTokenCreateSerializer(StrictModelSerializer):
    """Creating a key: the response carries ``key`` once; it cannot be shown again."""

    name = serializers.CharField(max_length=80, help_text="The system that will use the key, e.g. “CRM sync”.")
    expires_in_days = serializers.IntegerField(min_value=1, max_value=366, default=90, write_only=True)
    key = serializers.CharField(read_only=True, help_text="The API key. Store it now: it is shown only once.")

    class Meta:
        model = ApiToken
        fields = ("token_key", "name", "expires_in_days", "key", "created", "expiry")
        read_only_fields = ("token_key", "created", "expiry")


# Error documentation -------------------------------------------------------------------------------------------


class ConflictErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorResponseSerializer(serializers.Serializer):
    """409: the request is valid but clashes with the current state (for example an illegal status change)."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = ConflictErrorSerializer(many=True)
