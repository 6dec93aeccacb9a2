"""Co-marketing's part of ``seed_scale``: a library of 50,000 assets and a year of market development funds
(full size, ``ctx.factor`` 1).

* Assets with one to three versions, a category and tags, shared with all partners, chosen tiers or chosen
  partners (guardian grants to their member groups), mostly published, some drafts, archived or expired;
  search vectors filled with one UPDATE, the same expression as ``comarketing.services``. PDF, image and deck
  versions point to stored sample files (with their real size and digest) and a preview thumbnail.
* Four quarterly fund programs ending with the current quarter, an allocation per partner and program sized by
  tier, and about 60,000 requests in every state with their claims, each claim with a stored proof of
  performance. The ledger is written the way
  ``comarketing.mdf`` writes it (allocate, commit, claim, release, pay), request by request in time order, and
  each allocation's running totals are the sums of its entries: ``available`` never goes below zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from partnerhub import scale

ASSETS = 50_000
FUND_REQUESTS = 60_000
MARKETING_MANAGERS = 10
ASSET_SEARCH = "security"  # matches about a third of the library (make bench searches it)

CATEGORIES = ["Datasheets", "Solution briefs", "Case studies", "Presentations", "Videos", "E-mail", "Social"]
TAGS = [
    *["firewall", "switching", "routing", "wireless", "vpn", "cloud", "storage", "licensing", "sd-wan", "iot"],
    *["smb", "enterprise", "healthcare", "retail", "education", "government", "finance", "manufacturing"],
    *["q1", "q2", "q3", "q4", "launch", "webinar", "event", "nurture", "renewal", "upsell", "partner-only"],
    *["english", "german", "french", "spanish", "japanese", "portuguese", "co-brandable", "print", "web"],
]
PRODUCTS = ["Edge router X200", "Core switch S48", "Firewall F5100", "Wireless AP W6", "VPN gateway G2"]
PRODUCTS += ["Cloud controller", "Storage array A30", "Managed services"]
THEMES = [
    "network security",
    "security operations",
    "zero-trust security",
    "SD-WAN for branch offices",
    "cloud migration",
    "Wi-Fi 6 refresh",
    "data protection",
    "hybrid work",
]
KINDS = [("pdf", 40), ("image", 20), ("slides", 15), ("video", 10), ("email_copy", 10), ("social_copy", 5)]
FORMATS = {
    "pdf": ("Datasheet", "application/pdf", "pdf"),
    "image": ("Banner", "image/png", "png"),
    # Seeded decks are PDF decks, which the library takes for presentations as it takes PowerPoint and OpenDocument.
    "slides": ("Presentation", "application/pdf", "pdf"),
    "video": ("Video", "", ""),
    "email_copy": ("E-mail", "", ""),
    "social_copy": ("Social post", "", ""),
}
# The stored sample file and preview (keys of ``_samples``) of each kind of asset that has a file.
SAMPLES_OF_KIND = {"pdf": ("pdf", "thumbnail"), "image": ("png", "thumbnail"), "slides": ("deck", "deck_thumbnail")}
ALLOCATION_BY_RANK = {1: Decimal("2000"), 2: Decimal("5000"), 3: Decimal("10000"), 4: Decimal("25000")}
ACTIVITIES = [
    ("Webinar", "Webinar series on {t}"),
    ("Event", "Customer breakfast: {t}"),
    ("Trade show", "Regional trade show booth ({t})"),
    ("Digital", "Paid search campaign: {t}"),
    ("E-mail", "E-mail nurture on {t}"),
    ("Telemarketing", "Call-down to installed base ({t})"),
]
PAST_OUTCOMES = [
    ("paid", 40),
    ("claim_approved", 8),
    ("claim_rejected", 5),
    ("claimed", 8),
    ("rejected", 12),
    ("cancelled", 8),
    ("expired", 7),
    ("approved", 6),
    ("submitted", 6),
]
CURRENT_OUTCOMES = [("submitted", 35), ("approved", 30), ("rejected", 10), ("cancelled", 5)]
CURRENT_ENDED = [("claimed", 10), ("claim_approved", 5), ("paid", 10)]
CENT = Decimal("0.01")


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class _Sample:
    """A file stored once that many seeded rows point to, with the size and digest of its content."""

    name: str
    size: int
    sha256: str


def _samples() -> dict[str, _Sample]:
    """The files the seeded library and claims point to: a one-page PDF datasheet, a one-slide PDF deck (16:9), a
    PNG banner (the size of the image templates' regions), card thumbnails for documents and decks, and a
    proof-of-performance photo, each stored once (a re-seed finds them). Rows share them, as a restored database
    shares nothing: only the rows differ."""
    import io

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image, ImageDraw

    def image(size, band, fmt, text) -> bytes:
        picture = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(picture)
        draw.rectangle([0, 0, size[0], size[1] // 5], fill=band)
        draw.text((size[0] // 20, size[1] // 3), text, fill="#1f2937")
        out = io.BytesIO()
        picture.save(out, format=fmt)
        return out.getvalue()

    contents = {
        "pdf": ("scale/sample-datasheet.pdf", image((850, 1100), "#1d4ed8", "PDF", "Datasheet")),
        "deck": ("scale/sample-deck.pdf", image((1280, 720), "#7c3aed", "PDF", "Presentation")),
        "deck_thumbnail": ("scale/sample-deck-thumbnail.png", image((480, 270), "#7c3aed", "PNG", "Presentation")),
        "png": ("scale/sample-banner.png", image((1200, 628), "#0f766e", "PNG", "Banner")),
        "thumbnail": ("scale/sample-thumbnail.png", image((480, 300), "#1d4ed8", "PNG", "Preview")),
        "proof": ("scale/sample-proof.png", image((800, 600), "#b45309", "PNG", "Event photo")),
    }
    samples = {}
    for key, (name, data) in contents.items():
        if default_storage.exists(name):
            # The rows state the stored file's size and digest: a PDF made now differs from it (its dates).
            with default_storage.open(name, "rb") as stored:
                data = stored.read()
        else:
            name = default_storage.save(name, ContentFile(data))
        samples[key] = _Sample(name, len(data), hashlib.sha256(data).hexdigest())
    return samples


def seed(ctx: scale.ScaleContext) -> None:
    """The asset library and a year of MDF."""
    rng = random.Random(20261129)
    with transaction.atomic():
        managers = _marketing_managers(ctx)
        partners = _partners(ctx)
        samples = _samples()
        _assets(ctx, rng, partners, managers, samples)
        _funds(ctx, rng, partners, managers, samples)


def _marketing_managers(ctx: scale.ScaleContext) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from partnerhub import roles
    from partnerhub.choices import StaffRole
    from partnerhub.models import User

    prefix = f"{scale.PREFIX}-mm-"
    start = User.objects.filter(username__startswith=prefix).count()
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{start + k:04d}",
                email=f"{prefix}{start + k:04d}@vendor.example",
                is_staff=True,
                first_name="Marketing",
                last_name=f"Manager {start + k:04d}",
                password=make_password(None),  # unusable: the data set's managers do not sign in
            )
            for k in range(max(1, round(MARKETING_MANAGERS * ctx.factor)))
        ]
    )
    group = roles.staff_group(StaffRole.MARKETING_MANAGER)
    through = User.groups.through
    through.objects.bulk_create([through(user_id=u.pk, group_id=group.pk) for u in users])
    return [u.pk for u in users]


def _partners(ctx: scale.ScaleContext) -> dict[int, dict]:
    from partnerhub.models import Partner

    rows = Partner.objects.filter(pk__in=ctx.partner_ids).values("pk", "tier__rank", "members_group_id")
    return {row["pk"]: row for row in rows}


# Assets ----------------------------------------------------------------------------------------------------------


def _assets(ctx, rng, partners, managers, samples) -> None:
    from django.contrib.auth.models import Permission

    from comarketing.models import Asset, AssetCategory, AssetGroupObjectPermission, AssetVersion, Tag
    from partnerhub.models import Tier

    now = timezone.now()
    categories = []
    for name in CATEGORIES:
        slug = name.lower().replace(" ", "-")
        found = AssetCategory.objects.filter(name=name).first() or AssetCategory.objects.filter(slug=slug).first()
        categories.append(found or AssetCategory.objects.create(name=name, slug=slug))
    Tag.objects.bulk_create([Tag(name=name) for name in TAGS], ignore_conflicts=True)
    tags = list(Tag.objects.filter(name__in=TAGS).values_list("pk", flat=True))
    tiers = list(Tier.objects.order_by("rank").values_list("pk", flat=True))

    rows = []
    for _ in range(round(ASSETS * ctx.factor)):
        kind = _pick(rng, KINDS)
        label = FORMATS[kind][0]
        product, theme = rng.choice(PRODUCTS), rng.choice(THEMES)
        status = _pick(rng, [("published", 85), ("draft", 10), ("archived", 5)])
        publish_at = now - dt.timedelta(days=rng.uniform(-14, 365))
        expires_at = None
        if rng.random() < 0.1:
            expires_at = publish_at + dt.timedelta(days=rng.randint(30, 400))
        cobrand = ""
        if kind == "pdf" and rng.random() < 0.25:
            cobrand = "html"
        elif kind == "image" and rng.random() < 0.3:
            cobrand = "image"
        rows.append(
            Asset(
                title=f"{product} {label.lower()}: {theme}"[:200],
                description=f"{label} for partners selling the {product} to customers interested in {theme}. "
                f"Ready for {rng.choice(['print', 'web', 'e-mail', 'events'])}; co-brand it with your logo.",
                kind=kind,
                category=rng.choice(categories),
                audience=_pick(rng, [("all", 70), ("tiers", 20), ("partners", 10)]),
                status=status,
                publish_at=publish_at,
                expires_at=expires_at,
                template_kind=cobrand,
                owner_id=rng.choice(managers),
                download_count=rng.randint(0, 500),
                created_at=publish_at - dt.timedelta(days=rng.randint(0, 20)),
                updated_at=publish_at,
            )
        )
    with scale.own_timestamps(Asset):
        assets = Asset.objects.bulk_create(rows, batch_size=5000)
    if not assets:
        return
    versions = []
    for asset in assets:
        _, content_type, extension = FORMATS[asset.kind]
        # Every kind with a file points to a stored sample file and its preview.
        keys = SAMPLES_OF_KIND.get(asset.kind)
        sample, preview = (samples[keys[0]], samples[keys[1]]) if keys else (None, None)
        for number in range(1, 2 + asset.pk % 3):
            digest = hashlib.sha256(f"{asset.pk}-{number}".encode()).hexdigest()
            versions.append(
                AssetVersion(
                    asset=asset,
                    number=number,
                    file=sample.name if sample else "",
                    thumbnail=preview.name if preview else "",
                    content_type=content_type,
                    size=sample.size if sample else 0,
                    original_name=f"asset-{asset.pk}-v{number}.{extension}" if sample else "",
                    sha256=sample.sha256 if sample else "",
                    external_url=f"https://video.example/watch/{digest[:11]}" if asset.kind == "video" else "",
                    text_body=f"Subject: {asset.title}\n\nHello {{first_name}}, …"
                    if asset.kind in ("email_copy", "social_copy")
                    else "",
                    html_template="<h1>{{ partner.name }}</h1><p>{{ asset.title }}</p>"
                    if asset.template_kind == "html"
                    else "",
                    regions={"logo": [40, 40, 240, 80], "name": [40, 140, 400, 40], "contact": [40, 200, 400, 40]}
                    if asset.template_kind == "image"
                    else {},
                    notes="Initial version" if number == 1 else "Updated figures",
                    created_by_id=asset.owner_id,
                    created_at=asset.created_at + dt.timedelta(days=number - 1),
                )
            )
    with scale.own_timestamps(AssetVersion):
        AssetVersion.objects.bulk_create(versions, batch_size=5000)
    first, last = assets[0].pk, assets[-1].pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Asset._meta.db_table} a SET current_version_id = v.id
            FROM (SELECT DISTINCT ON (asset_id) asset_id, id FROM {AssetVersion._meta.db_table}
                  WHERE asset_id BETWEEN %s AND %s ORDER BY asset_id, number DESC) v
            WHERE a.id = v.asset_id
            """,  # noqa: S608 (table names from the models)
            [first, last],
        )
    tag_through = Asset.tags.through
    tag_through.objects.bulk_create(
        [tag_through(asset_id=a.pk, tag_id=t) for a in assets for t in rng.sample(tags, rng.randint(1, 4))],
        batch_size=5000,
    )
    tier_through = Asset.tiers.through
    tier_through.objects.bulk_create(
        [tier_through(asset_id=a.pk, tier_id=t) for a in assets if a.audience == "tiers" for t in tiers[-2:]],
        batch_size=5000,
    )
    view = Permission.objects.get(content_type__app_label="comarketing", codename="view_asset")
    groups = [partners[pid]["members_group_id"] for pid in ctx.partner_ids]
    grants = [
        AssetGroupObjectPermission(content_object=a, group_id=group_id, permission=view)
        for a in assets
        if a.audience == "partners"
        for group_id in rng.sample(groups, min(len(groups), rng.randint(1, 10)))
    ]
    AssetGroupObjectPermission.objects.bulk_create(grants, batch_size=5000)
    tag_names = (
        tag_through.objects.filter(asset_id=OuterRef("pk"))
        .values("asset_id")
        .annotate(names=StringAgg("tag__name", " "))
        .values("names")
    )
    Asset.objects.filter(pk__gte=first, pk__lte=last).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("description", weight="B", config="english")
        + SearchVector(Coalesce(Subquery(tag_names), Value(""), output_field=TextField()), weight="A", config="english")
    )
    ctx.log(f"  assets: {len(assets)} with {len(versions)} versions; {len(grants)} partner grants")


# Market development funds ----------------------------------------------------------------------------------------


def _quarters(today: dt.date, count: int = 4) -> list[tuple[dt.date, dt.date]]:
    """The last ``count`` calendar quarters, oldest first, the current one last."""
    start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    quarters = []
    for _ in range(count):
        end_month = start.month + 3
        end = (dt.date(start.year + end_month // 13, (end_month - 1) % 12 + 1, 1)) - dt.timedelta(days=1)
        quarters.append((start, end))
        previous = start - dt.timedelta(days=1)
        start = dt.date(previous.year, 3 * ((previous.month - 1) // 3) + 1, 1)
    return quarters[::-1]


def _at(day: dt.date, rng: random.Random, now: dt.datetime) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randint(0, 480))
    return min(moment, now)


class _Allocation:
    """Running totals of one allocation while its history is written, as ``mdf._move`` keeps them."""

    def __init__(self, row):
        self.row = row
        self.allocated = self.committed = self.claimed = self.paid = Decimal("0")
        self.moves: list[tuple[str, Decimal, object, dt.datetime, str]] = []  # kind, amount, request, at, note

    @property
    def available(self) -> Decimal:
        return self.allocated - self.committed - self.claimed - self.paid

    def move(self, kind, amount, at, request=None, note="", **deltas) -> None:
        for name, delta in deltas.items():
            setattr(self, name, getattr(self, name) + delta)
        if self.available < 0 or min(self.committed, self.claimed, self.paid) < 0:
            raise AssertionError("an MDF seed movement would overspend an allocation")
        self.moves.append((kind, amount, request, at, note))


def _funds(ctx, rng, partners, managers, samples) -> None:
    from comarketing.models import ClaimProof, FundAllocation, FundClaim, FundProgram, FundRequest, LedgerEntry

    now = timezone.now()
    today = now.date()
    quarters = _quarters(today)
    programs = FundProgram.objects.bulk_create(
        [
            FundProgram(
                name=f"MDF {start.year} Q{(start.month - 1) // 3 + 1}",
                period_start=start,
                period_end=end,
                currency="USD",
                budget=Decimal("0"),
                starting_allocation=Decimal("0"),
                claim_days=60,
                is_active=end + dt.timedelta(days=90) >= today,
            )
            for start, end in quarters
        ]
    )
    # Partners that run many activities get the funds for them: at least their tier's amount per quarter.
    counts = scale.long_tail(round(FUND_REQUESTS * ctx.factor), ctx.partner_ids)
    books: list[_Allocation] = []
    by_partner: dict[int, list[_Allocation]] = {}
    for partner_id in ctx.partner_ids:
        amount = ALLOCATION_BY_RANK.get(partners[partner_id]["tier__rank"], Decimal("2000"))
        amount = max(amount, Decimal(round(counts[partner_id] / len(programs) * 3000, -3)))
        for program in programs:
            book = _Allocation(FundAllocation(partner_id=partner_id, program=program))
            book.move(
                "allocate", amount, _at(program.period_start, rng, now), note="Quarterly allocation", allocated=amount
            )
            books.append(book)
            by_partner.setdefault(partner_id, []).append(book)

    requests: list[FundRequest] = []
    claims: list[FundClaim] = []
    for partner_id, count in counts.items():
        admin = ctx.admin_user_ids.get(partner_id)
        for k in range(count):
            book = by_partner[partner_id][k % len(programs)]
            _request(rng, book, admin, managers, today, now, requests, claims)

    with scale.own_timestamps(FundAllocation, FundRequest, FundClaim, ClaimProof, LedgerEntry):
        for book in books:
            for name in ("allocated", "committed", "claimed", "paid"):
                setattr(book.row, name, getattr(book, name))
            book.row.updated_at = max(at for _, _, _, at, _ in book.moves)
        FundAllocation.objects.bulk_create([b.row for b in books], batch_size=5000)
        FundRequest.objects.bulk_create(requests, batch_size=5000)
        for claim in claims:
            claim.request_id = claim.request.pk
        FundClaim.objects.bulk_create(claims, batch_size=5000)
        # Every claim carries its proof of performance (the claim form asks for one), uploaded with the claim.
        ClaimProof.objects.bulk_create(
            [
                ClaimProof(
                    partner_id=claim.partner_id,
                    claim=claim,
                    file=samples["proof"].name,
                    original_name=f"event-photo-{claim.request_id}.png",
                    content_type="image/png",
                    size=samples["proof"].size,
                    uploaded_at=claim.submitted_at,
                )
                for claim in claims
            ],
            batch_size=5000,
        )
        entries = [
            LedgerEntry(
                allocation=book.row,
                kind=kind,
                amount=amount,
                request_id=request.pk if request is not None else None,
                actor_id=None,
                note=note,
                created_at=at,
            )
            for book in books
            for kind, amount, request, at, note in sorted(book.moves, key=lambda m: m[3])
        ]
        LedgerEntry.objects.bulk_create(entries, batch_size=5000)
    for program in programs:
        total = sum((b.allocated for b in books if b.row.program_id == program.pk), Decimal("0"))
        FundProgram.objects.filter(pk=program.pk).update(budget=(total * Decimal("1.2")).quantize(CENT))
    ctx.log(
        f"  MDF: {len(programs)} programs, {len(books)} allocations, {len(requests)} requests, {len(claims)} claims "
        "with their proofs, "
        f"{len(entries)} ledger entries"
    )


def _request(rng, book: _Allocation, admin, managers, today, now, requests, claims) -> None:
    """One request on ``book`` with the ledger movements of its outcome, in time order."""
    from comarketing.models import FundClaim, FundRequest

    program = book.row.program
    if book.available < 100:
        return  # the portal refuses a request the balance cannot cover
    span = (program.period_end - program.period_start).days
    starts_on = program.period_start + dt.timedelta(days=rng.randint(0, span))
    ends_on = min(program.period_end, starts_on + dt.timedelta(days=rng.randint(0, 20)))
    planned = min(_money(rng.uniform(500, 6000)), book.available)
    activity_type, name = rng.choice(ACTIVITIES)
    claim_due = ends_on + dt.timedelta(days=program.claim_days)
    if ends_on < today:
        outcome = _pick(rng, PAST_OUTCOMES if program.period_end < today else CURRENT_OUTCOMES + CURRENT_ENDED)
    else:
        outcome = _pick(rng, CURRENT_OUTCOMES)
    # An approved request past its claim deadline is expired by the nightly task, and only such a one is.
    if outcome == "approved" and claim_due < today:
        outcome = "expired"
    elif outcome == "expired" and claim_due >= today:
        outcome = "approved"
    submitted_at = _at(max(program.period_start - dt.timedelta(days=14), starts_on - dt.timedelta(days=21)), rng, now)
    decided_at = min(now, submitted_at + dt.timedelta(days=rng.randint(1, 5)))
    request = FundRequest(
        partner_id=book.row.partner_id,
        allocation=book.row,
        activity=name.format(t=rng.choice(THEMES)),
        activity_type=activity_type,
        description="Target: installed-base customers in our region.",
        planned_cost=planned,
        expected_leads=rng.randint(5, 200),
        starts_on=starts_on,
        ends_on=ends_on,
        status=outcome,
        submitted_by_id=admin,
        submitted_at=submitted_at,
    )
    requests.append(request)
    if outcome == "submitted":
        return
    request.decided_by_id, request.decided_at = rng.choice(managers), decided_at
    cancelled_before = outcome == "cancelled" and rng.random() < 0.5
    if outcome == "rejected" or cancelled_before:
        request.decision_note = "Outside this quarter's focus." if outcome == "rejected" else ""
        return
    approved = min(_money(float(planned) * rng.choice([1, 1, 1, 0.9, 0.8])), book.available)
    if approved <= 0:
        request.status = "rejected"
        request.decision_note = "No funds left in this allocation."
        return
    request.approved_amount, request.claim_due_on = approved, claim_due
    book.move("commit", approved, decided_at, request, committed=approved)
    if outcome == "approved":
        return
    if outcome in ("cancelled", "expired"):
        at = decided_at + dt.timedelta(days=1) if outcome == "cancelled" else _at(claim_due, rng, now)
        note = "Request cancelled" if outcome == "cancelled" else "Claim deadline missed"
        book.move("release", approved, min(now, at), request, note=note, committed=-approved)
        return
    actual = _money(float(approved) * rng.uniform(0.7, 1.0))
    claimed_at = _at(min(today, ends_on + dt.timedelta(days=rng.randint(1, 30))), rng, now)
    claim = FundClaim(
        partner_id=request.partner_id,
        request=request,
        actual_cost=actual,
        leads=rng.randint(0, 250),
        deals=rng.randint(0, 12),
        revenue=_money(float(actual) * rng.uniform(0, 12)),
        notes="Attendee list and invoices attached.",
        submitted_by_id=admin,
        submitted_at=claimed_at,
    )
    claims.append(claim)
    book.move("claim", actual, claimed_at, request, committed=-actual, claimed=actual)
    if approved > actual:
        book.move(
            "release",
            approved - actual,
            claimed_at,
            request,
            note="Claimed less than approved",
            committed=actual - approved,
        )
    if outcome == "claimed":
        return
    claim.decided_by_id = request.decided_by_id
    claim.decided_at = min(now, claimed_at + dt.timedelta(days=rng.randint(1, 10)))
    if outcome == "claim_rejected":
        request.decision_note = "Proof of performance does not show the activity."
        book.move("release", actual, claim.decided_at, request, note=request.decision_note, claimed=-actual)
    elif outcome == "paid":
        claim.paid_at = min(now, claim.decided_at + dt.timedelta(days=rng.randint(3, 20)))
        claim.payment_reference = f"PAY-{rng.randint(100000, 999999)}"
        book.move("pay", actual, claim.paid_at, request, note=claim.payment_reference, claimed=-actual, paid=actual)
