"""``manage.py seed_demo``: a small, believable partner program to click through. Safe to run again.

Everything is created through ``partnerhub.services`` (accounts through Django's user manager), so the demo
data carries the same groups, grants, brands and audit trail as real data. A second run finds what exists
and adds only what is missing. Every account shares one password that is printed and documented: demo only,
which is why the command refuses to run in production.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from partnerhub import demo, services
from partnerhub.choices import MembershipRole, PartnerStatus, PartnerType, StaffRole
from partnerhub.models import Invitation, Membership, Partner, Tier, User

DEMO_PASSWORD = "partnerhub-demo"  # noqa: S105 (published on purpose: demo data only, refused in production)
VENDOR_DOMAIN = "vendor.example"

TIERS = [
    {
        "name": "Registered",
        "rank": 1,
        "description": "Everyone who signs the partner agreement starts here.",
        "min_annual_revenue": "0",
        "min_certified_reps": 0,
        "requirements": "Signed partner agreement\nCompleted partner profile",
        "benefits": "Partner portal access\nDeal registration\nSales and marketing asset library",
        "discount_percent": "5",
    },
    {
        "name": "Silver",
        "rank": 2,
        "description": "Partners with a steady pipeline and trained staff.",
        "min_annual_revenue": "100000",
        "min_certified_reps": 2,
        "requirements": "Two certified sales reps\nOne joint business plan per year",
        "benefits": "Everything in Registered\nLead sharing\nCo-branded campaign kits",
        "discount_percent": "10",
    },
    {
        "name": "Gold",
        "rank": 3,
        "description": "Strategic partners with a dedicated channel manager.",
        "min_annual_revenue": "500000",
        "min_certified_reps": 5,
        "requirements": "Five certified reps\nQuarterly business reviews\nFirst-line support for own customers",
        "benefits": "Everything in Silver\nMarket development funds\nPriority ticket escalation",
        "discount_percent": "18",
    },
    {
        "name": "Platinum",
        "rank": 4,
        "description": "The program's top partners and distributors.",
        "min_annual_revenue": "2000000",
        "min_certified_reps": 12,
        "requirements": "Twelve certified reps\nDedicated practice lead\nAnnual executive sponsor review",
        "benefits": "Everything in Gold\nHighest MDF allocation\nEarly access to the roadmap",
        "discount_percent": "25",
    },
]


@dataclass
class Person:
    username: str
    first_name: str
    last_name: str
    email: str
    title: str = ""


@dataclass
class DemoPartner:
    slug: str
    name: str
    partner_type: str
    tier: str | None
    status: str
    primary: str
    accent: str
    tagline: str
    country: str
    region: str
    admin: Person
    rep: Person
    parent: str | None = None
    status_reason: str = ""
    extra_reps: list[Person] = field(default_factory=list)
    invitations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return f"{self.slug}.example"


# One person in two partners: a distributor's rep who also works for a reseller under it.
DANA = Person("dana", "Dana", "Whitfield", "dana@northwind.example", "Channel sales engineer")

PARTNERS = [
    DemoPartner(
        slug="northwind",
        name="Northwind Distribution",
        partner_type=PartnerType.DISTRIBUTOR,
        tier="Platinum",
        status=PartnerStatus.ACTIVE,
        primary="#1b3a6b",
        accent="#f28c28",
        tagline="Value-added distribution across the Nordics",
        country="SE",
        region="EMEA",
        admin=Person("nina", "Nina", "Lindqvist", "nina@northwind.example", "Partner program lead"),
        rep=Person("noah", "Noah", "Berg", "noah@northwind.example", "Account manager"),
        extra_reps=[DANA],
    ),
    DemoPartner(
        slug="skyline",
        name="Skyline Resellers",
        partner_type=PartnerType.RESELLER,
        tier="Gold",
        status=PartnerStatus.ACTIVE,
        primary="#0e7c86",
        accent="#ffd166",
        tagline="Cloud and security for growing businesses",
        country="DE",
        region="EMEA",
        parent="northwind",
        admin=Person("sara", "Sara", "Keller", "sara@skyline.example", "Managing director"),
        rep=Person("sven", "Sven", "Maurer", "sven@skyline.example", "Sales rep"),
        extra_reps=[DANA],
        invitations=[("lena@skyline.example", MembershipRole.REP)],
    ),
    DemoPartner(
        slug="brightpath",
        name="Brightpath Referrals",
        partner_type=PartnerType.REFERRAL,
        tier="Silver",
        status=PartnerStatus.ACTIVE,
        primary="#6a2c91",
        accent="#2ec4b6",
        tagline="Introductions that close",
        country="US",
        region="North America",
        admin=Person("bianca", "Bianca", "Reyes", "bianca@brightpath.example", "Founder"),
        rep=Person("ben", "Ben", "Okafor", "ben@brightpath.example", "Business developer"),
    ),
    DemoPartner(
        slug="forge",
        name="Forge Components",
        partner_type=PartnerType.SUPPLIER,
        tier="Registered",
        status=PartnerStatus.ONBOARDING,
        primary="#8c2f1b",
        accent="#9bc53d",
        tagline="Hardware components, delivered to spec",
        country="GB",
        region="EMEA",
        admin=Person("fiona", "Fiona", "Marsh", "fiona@forge.example", "Operations director"),
        rep=Person("felix", "Felix", "Grant", "felix@forge.example", "Supply coordinator"),
        invitations=[("accounts@forge.example", MembershipRole.ADMIN)],
    ),
    DemoPartner(
        slug="harbor",
        name="Harbor Field Sales",
        partner_type=PartnerType.INTERNAL,
        tier=None,
        status=PartnerStatus.ACTIVE,
        primary="#2d3142",
        accent="#ef8354",
        tagline="The vendor's own field team",
        country="US",
        region="North America",
        admin=Person("hank", "Hank", "Sato", "hank@harbor.example", "Field sales manager"),
        rep=Person("hazel", "Hazel", "Brooks", "hazel@harbor.example", "Field sales rep"),
    ),
    DemoPartner(
        slug="oldtown",
        name="Oldtown Office Supply",
        partner_type=PartnerType.RESELLER,
        tier="Registered",
        status=PartnerStatus.SUSPENDED,
        status_reason="Partner agreement lapsed; renewal pending.",
        primary="#5c6b73",
        accent="#c2a83e",
        tagline="Everything for the office since 1987",
        country="NL",
        region="EMEA",
        admin=Person("otto", "Otto", "Visser", "otto@oldtown.example", "Owner"),
        rep=Person("olive", "Olive", "Jansen", "olive@oldtown.example", "Sales rep"),
    ),
]

SUPERUSER = Person("admin", "Ada", "Admin", f"admin@{VENDOR_DOMAIN}", "Platform administrator")
STAFF = [
    # (person, roles, partners they manage as channel manager)
    (
        Person("carla", "Carla", "Moreno", f"carla@{VENDOR_DOMAIN}"),
        [StaffRole.CHANNEL_MANAGER],
        ["northwind", "skyline"],
    ),
    (Person("chris", "Chris", "Hale", f"chris@{VENDOR_DOMAIN}"), [StaffRole.CHANNEL_MANAGER], ["brightpath", "forge"]),
    (Person("olga", "Olga", "Petrova", f"olga@{VENDOR_DOMAIN}"), [StaffRole.PARTNER_OPERATIONS], []),
    (Person("maya", "Maya", "Lund", f"maya@{VENDOR_DOMAIN}"), [StaffRole.MARKETING_MANAGER], []),
    (Person("sam", "Sam", "Turner", f"sam@{VENDOR_DOMAIN}"), [StaffRole.SUPPORT_AGENT], []),
]


def demo_logo(text: str, primary: str, accent: str) -> ContentFile:
    """Draw a simple wordmark logo as PNG: the partner's initials on its colours."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 360, 120
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=24, fill=primary)
    draw.ellipse((18, 18, 102, 102), fill=accent)
    font = ImageFont.load_default(size=44)
    initials = "".join(word[0] for word in text.split()[:2]).upper()
    draw.text((60, 60), initials, fill="#ffffff", font=font, anchor="mm")
    draw.text((122, 60), text.split()[0], fill="#ffffff", font=ImageFont.load_default(size=34), anchor="lm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return ContentFile(out.getvalue(), name="logo.png")


def portal_url(partner: Partner) -> str:
    """Where a partner's branded portal answers: ``<subdomain>.<PORTAL_BASE_DOMAIN>`` on the public port."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    brand = partner.brand
    host = brand.custom_domain or f"{brand.subdomain}.{settings.PORTAL_BASE_DOMAIN}"
    port = f":{base.port}" if base.port else ""
    return f"{base.scheme}://{host}{port}/"


def ensure_broker_folders() -> None:
    """The filesystem broker needs its folders before the first message (invitation e-mails) is queued."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://") and not settings.CELERY_TASK_ALWAYS_EAGER:
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)


class Command(BaseCommand):
    help = "Create demo tiers, partners, brands, partner users, vendor staff and invitations (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even when PARTNERHUB_ENV=production (every demo account shares a published password).",
        )

    def handle(self, *args, **options):
        if getattr(settings, "PRODUCTION", False) and not options["allow_production"]:
            raise CommandError(
                "seed_demo creates accounts that share a published password; it does not run in production. "
                "Pass --allow-production only for a throw-away demo instance."
            )
        ensure_broker_folders()
        self.created: list[str] = []
        with transaction.atomic():
            superuser = self._superuser()
            tiers = self._tiers(superuser)
            staff = self._staff(superuser)
            partners = self._partners(superuser, tiers)
            for person, _roles, manages in STAFF:
                for slug in manages:
                    services.channel_manager_assign(
                        actor=superuser, partner=partners[slug], manager=staff[person.username]
                    )
            context = demo.DemoContext(
                superuser=superuser,
                staff=staff,
                partners=partners,
                created=self.created,
                users=lambda username: User.objects.get(username__iexact=username),
            )
            for _name, seed in demo.seeders():
                seed(context)
        self._report(partners)
        for line in context.notes:
            self.stdout.write(line)

    # Building blocks -----------------------------------------------------------------------------------------

    def _user(self, person: Person, **extra) -> User:
        user = User.objects.filter(username__iexact=person.username).first()
        if user is None:
            user = User.objects.create_user(
                username=person.username,
                email=person.email,
                password=DEMO_PASSWORD,
                first_name=person.first_name,
                last_name=person.last_name,
                **extra,
            )
            self.created.append(f"user {person.username}")
        return user

    def _superuser(self) -> User:
        user = User.objects.filter(username__iexact=SUPERUSER.username).first()
        if user is None:
            user = User.objects.create_superuser(
                username=SUPERUSER.username,
                email=SUPERUSER.email,
                password=DEMO_PASSWORD,
                first_name=SUPERUSER.first_name,
                last_name=SUPERUSER.last_name,
            )
            self.created.append(f"superuser {SUPERUSER.username}")
        return user

    def _tiers(self, actor: User) -> dict[str, Tier]:
        tiers = {}
        for spec in TIERS:
            tier = Tier.objects.filter(name=spec["name"]).first()
            if tier is None:
                tier = services.tier_create(actor=actor, **spec)
                self.created.append(f"tier {tier.name}")
            tiers[tier.name] = tier
        return tiers

    def _staff(self, actor: User) -> dict[str, User]:
        staff = {}
        for person, role_values, _manages in STAFF:
            user = self._user(person, is_staff=True)
            services.staff_roles_set(actor=actor, user=user, role_values=list(role_values))
            staff[person.username] = User.objects.get(pk=user.pk)  # fresh: no stale permission cache
        return staff

    def _partners(self, actor: User, tiers: dict[str, Tier]) -> dict[str, Partner]:
        partners: dict[str, Partner] = {}
        for spec in PARTNERS:  # parents come before their children in PARTNERS
            partner = Partner.objects.filter(slug=spec.slug).first()
            if partner is None:
                partner = services.partner_create(
                    actor=actor,
                    name=spec.name,
                    slug=spec.slug,
                    subdomain=spec.slug,
                    partner_type=spec.partner_type,
                    status=PartnerStatus.PROSPECT,
                    tier=tiers[spec.tier] if spec.tier else None,
                    parent=partners[spec.parent] if spec.parent else None,
                    website=f"https://www.{spec.domain}/",
                    country=spec.country,
                    region=spec.region,
                    primary_color=spec.primary,
                    accent_color=spec.accent,
                )
                self.created.append(f"partner {partner.name}")
                self._brand(actor, partner, spec)
                self._members(partner, spec)
                self._lifecycle(actor, partner, spec)
            else:
                self._members(partner, spec)
            self._invitations(partner, spec)
            partners[spec.slug] = Partner.objects.select_related("brand").get(pk=partner.pk)
        return partners

    def _brand(self, actor: User, partner: Partner, spec: DemoPartner) -> None:
        services.brand_update(
            actor=actor,
            brand=partner.brand,
            logo=demo_logo(spec.name, spec.primary, spec.accent),
            tagline=spec.tagline,
            support_email=f"support@{spec.domain}",
            primary_color=spec.primary,
            accent_color=spec.accent,
        )

    def _members(self, partner: Partner, spec: DemoPartner) -> None:
        for person, role in [(spec.admin, MembershipRole.ADMIN), (spec.rep, MembershipRole.REP)] + [
            (extra, MembershipRole.REP) for extra in spec.extra_reps
        ]:
            user = self._user(person)
            if not Membership.objects.filter(partner=partner, user=user).exists():
                services.membership_add(actor=None, partner=partner, user=user, role=role, title=person.title)

    def _lifecycle(self, actor: User, partner: Partner, spec: DemoPartner) -> None:
        # Walk the real lifecycle so the audit trail shows how each partner got where it is.
        steps = {
            PartnerStatus.ONBOARDING: [PartnerStatus.ONBOARDING],
            PartnerStatus.ACTIVE: [PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE],
            PartnerStatus.SUSPENDED: [PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED],
        }[spec.status]
        for status in steps:
            reason = spec.status_reason if status == PartnerStatus.SUSPENDED else ""
            services.partner_change_status(actor=actor, partner=partner, status=status, reason=reason)

    def _invitations(self, partner: Partner, spec: DemoPartner) -> None:
        if not partner.can_sign_in:
            return
        inviter = User.objects.get(username__iexact=spec.admin.username)
        for email, role in spec.invitations:
            is_open = Invitation.objects.filter(
                partner=partner,
                email__iexact=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).exists()
            if not is_open and not Membership.objects.filter(partner=partner, user__email__iexact=email).exists():
                services.invitation_create(actor=inviter, partner=partner, email=email, role=role)
                self.created.append(f"invitation {email}")

    # Output --------------------------------------------------------------------------------------------------

    def _report(self, partners: dict[str, Partner]) -> None:
        out = self.stdout
        if self.created:
            out.write(self.style.SUCCESS(f"Created {len(self.created)} demo objects."))
        else:
            out.write(self.style.SUCCESS("Demo data already present; nothing to add."))
        base = settings.PUBLIC_BASE_URL
        out.write("")
        out.write(f"Demo password for every account below (demo data only): {DEMO_PASSWORD}")
        out.write("Sign in with the username or the e-mail address.")
        out.write("")
        out.write(f"Vendor staff — console {base}/console/ and portal {base}/")
        out.write(f"  {'superuser':<22} {SUPERUSER.username:<8} {SUPERUSER.email}")
        for person, role_values, manages in STAFF:
            label = ", ".join(StaffRole(r).label.lower() for r in role_values)
            managed = f"   manages {', '.join(partners[slug].name for slug in manages)}" if manages else ""
            out.write(f"  {label:<22} {person.username:<8} {person.email}{managed}")
        out.write("")
        out.write("Partners — each portal answers on its own host")
        for spec in PARTNERS:
            partner = partners[spec.slug]
            tier = partner.tier.name if partner.tier else "no tier"
            parent = f", under {partners[spec.parent].name}" if spec.parent else ""
            out.write(
                f"  {partner.name} — {partner.get_partner_type_display().lower()}, {tier}, "
                f"{partner.get_status_display().lower()}{parent}"
            )
            out.write(f"    portal: {portal_url(partner)}")
            note = "" if partner.can_sign_in else "   (partner suspended: sign-in is refused)"
            out.write(f"    partner admin  {spec.admin.username:<8} {spec.admin.email}{note}")
            out.write(f"    partner rep    {spec.rep.username:<8} {spec.rep.email}{note}")
            for extra in spec.extra_reps:
                out.write(f"    partner rep    {extra.username:<8} {extra.email}   (also in another partner)")
            for email, role in spec.invitations:
                if partner.can_sign_in:
                    out.write(f"    invited {MembershipRole(role).label.lower()}: {email} (pending)")
