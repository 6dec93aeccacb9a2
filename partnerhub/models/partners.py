from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from partnerhub.choices import SIGN_IN_STATUSES, PartnerStatus, PartnerType

hex_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Enter a colour as # followed by six hexadecimal digits, for example #1f6feb."
)
subdomain_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "Use lowercase letters, digits and inner hyphens only (at most 63 characters).",
)
domain_validator = RegexValidator(
    r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "Enter a domain name such as partners.example.com, without scheme or path.",
)


class Tier(models.Model):
    """A level of the partner program: requirements to reach it and the benefits it brings.

    ``rank`` orders tiers (1 is the entry tier); higher rank means a higher tier.
    """

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, validators=[MinValueValidator(1)])
    description = models.TextField(blank=True)
    min_annual_revenue = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    min_certified_reps = models.PositiveIntegerField(default=0)
    requirements = models.TextField(blank=True, help_text="Other requirements, one per line.")
    benefits = models.TextField(blank=True, help_text="Benefits of this tier, one per line.")
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name

    @property
    def requirement_list(self) -> list[str]:
        return [line.strip() for line in self.requirements.splitlines() if line.strip()]

    @property
    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]


class PartnerQuerySet(models.QuerySet):
    def for_user(self, user, action: str = "view"):
        from partnerhub import access

        return access.scope_partners(self, user, action)


class Partner(models.Model):
    """A partner organisation: reseller, distributor, referral partner, supplier or internal team.

    Each partner owns two auth groups: every active member is in ``members_group``, partner admins are also in
    ``admins_group``. Object permissions on the partner row are granted to those groups, so changing a
    person's membership never writes permission rows.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    partner_type = models.CharField(max_length=20, choices=PartnerType.choices, default=PartnerType.RESELLER)
    status = models.CharField(max_length=20, choices=PartnerStatus.choices, default=PartnerStatus.PROSPECT)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="partners")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The distributor this partner buys through (two-tier distribution).",
    )
    website = models.URLField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    region = models.CharField(max_length=80, blank=True)
    members_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="partner_as_members")
    admins_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="partner_as_admins")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PartnerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("access_partner", "Work as a member of the partner"),
            ("administer_partner", "Administer the partner's team, brand and keys"),
            ("manage_partner", "Manage the partner as its channel manager"),
            ("view_all_partners", "See and act on every partner (vendor-wide role)"),
            ("assign_channel_managers", "Assign partners to channel managers"),
            ("change_partner_status", "Suspend, reactivate and offboard partners"),
        ]
        indexes = [
            models.Index(fields=["status", "name"]),
            models.Index(Lower("name"), name="partner_name_lower_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="partner_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def can_sign_in(self) -> bool:
        return self.status in SIGN_IN_STATUSES


class PartnerUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key grant of a permission on one partner to one user (channel manager assignments)."""

    content_object = models.ForeignKey(Partner, on_delete=models.CASCADE)


class PartnerGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key grant of a permission on one partner to a group (the partner's own groups)."""

    content_object = models.ForeignKey(Partner, on_delete=models.CASCADE)


class PartnerBrand(models.Model):
    """How a partner's portal and help center look: name, logo, colours and the hosts it is served on.

    Colours are stored only as validated ``#rrggbb`` values and the logo only as a PNG that PartnerHub
    re-encoded itself, so nothing a partner enters can reach CSS or markup unescaped.
    ``version`` increases on every change so that derived files (co-branded assets) know when to regenerate.
    """

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="brand")
    display_name = models.CharField(max_length=120)
    tagline = models.CharField(max_length=160, blank=True)
    logo = models.ImageField(upload_to="brands/logos/", blank=True)
    logo_width = models.PositiveIntegerField(null=True, blank=True)
    logo_height = models.PositiveIntegerField(null=True, blank=True)
    primary_color = models.CharField(max_length=7, default="#1f4fd1", validators=[hex_colour_validator])
    accent_color = models.CharField(max_length=7, default="#0f9d8a", validators=[hex_colour_validator])
    subdomain = models.CharField(max_length=63, unique=True, validators=[subdomain_validator])
    custom_domain = models.CharField(max_length=253, blank=True, default="", validators=[domain_validator])
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    # A brand belongs to its partner: members see it, partner admins change it (see partnerhub.access).
    partner_field = "partner"
    partner_permissions = {"view": "access_partner", "change": "administer_partner"}

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["custom_domain"], condition=~models.Q(custom_domain=""), name="brand_custom_domain_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def primary_text_color(self) -> str:
        return readable_text_color(self.primary_color)

    @property
    def accent_text_color(self) -> str:
        return readable_text_color(self.accent_color)


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two ``#rrggbb`` colours."""
    la, lb = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_text_color(background: str) -> str:
    """White or near-black, whichever reads better on ``background`` (WCAG contrast)."""
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#111827") else "#111827"
