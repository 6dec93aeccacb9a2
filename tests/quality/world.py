"""Partner A's world for the isolation walk: one object of every kind, with markers that must never leak.

Feature apps add their objects with ``@builder`` functions (and their routes in ``walk_registry.py``).
``objects_by_model`` maps a model label to partner A's instance; the console's object pages are walked with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from partnerhub import services
from partnerhub.choices import MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import AuditEvent, Membership
from tests.factories import TierFactory, make_member, make_partner, make_staff

# Strings unique to partner A; none may appear in any answer to an outsider.
MARKER = "Zyqxal"


@dataclass
class World:
    objects_by_model: dict[str, object] = field(default_factory=dict)
    shared: set[str] = field(default_factory=set)  # program-wide models, not partner data
    markers: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def add(self, obj, *markers: str) -> object:
        self.objects_by_model.setdefault(obj._meta.label_lower, obj)
        self.markers.extend(m for m in markers if m)
        return obj

    def __getattr__(self, name):
        try:
            return self.extra[name]
        except KeyError:
            raise AttributeError(name) from None


BUILDERS: list[Callable[[World], None]] = []


def builder(func: Callable[[World], None]) -> Callable[[World], None]:
    BUILDERS.append(func)
    return func


@builder
def core(w: World) -> None:
    tier = TierFactory(name="Walk Gold")
    partner = make_partner(f"{MARKER} Holdings", status=PartnerStatus.ACTIVE, tier=tier)
    services.brand_update(
        actor=None,
        brand=partner.brand,
        display_name=f"{MARKER} Brand",
        tagline=f"{MARKER} tagline",
        support_email=f"help@{MARKER.lower()}.example",
    )
    partner.refresh_from_db()
    admin = make_member(
        partner,
        MembershipRole.ADMIN,
        username=f"{MARKER.lower()}-admin",
        email=f"admin@{MARKER.lower()}.example",
        first_name=MARKER,
        last_name="Admin",
    )
    rep = make_member(
        partner,
        MembershipRole.REP,
        username=f"{MARKER.lower()}-rep",
        email=f"rep@{MARKER.lower()}.example",
        first_name=MARKER,
        last_name="Rep",
    )
    manager = make_staff(
        StaffRole.CHANNEL_MANAGER,
        manages=[partner],
        username=f"{MARKER.lower()}-cm",
        first_name=MARKER,
        last_name="Manager",
    )
    invitation = services.invitation_create(actor=admin, partner=partner, email=f"invitee@{MARKER.lower()}.example")
    token, _ = services.api_token_create(actor=admin, user=admin, name=f"{MARKER} CRM key")
    rep_membership = Membership.objects.get(user=rep, partner=partner)
    w.extra.update(
        partner=partner,
        tier=tier,
        admin=admin,
        rep=rep,
        manager=manager,
        invitation=invitation,
        token=token,
        rep_membership=rep_membership,
        invitation_token=services.invitation_token(invitation),
        reset_uid=urlsafe_base64_encode(force_bytes(admin.pk)),
        reset_token=default_token_generator.make_token(admin),
    )
    w.add(partner, partner.name, partner.slug)
    w.add(partner.brand, partner.brand.display_name, partner.brand.tagline, partner.brand.support_email)
    w.add(rep_membership, rep.email)
    w.add(admin, admin.email)
    w.add(invitation, invitation.email)
    w.add(token, token.name)
    w.add(AuditEvent.objects.filter(partner=partner).latest("id"))
    w.objects_by_model["partnerhub.tier"] = tier
    w.shared.add("partnerhub.tier")


@builder
def onboarding_pages(w: World) -> None:
    """Partner A's onboarding records: its approved application, provisioning job, a checklist step, a tax form,
    an agreement acceptance and the integration credential."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from onboarding import provisioning
    from onboarding import services as onboarding_services
    from onboarding.choices import ApplicationStatus, JobState
    from onboarding.models import (
        Agreement,
        AgreementAcceptance,
        ChecklistItem,
        IntegrationCredential,
        PartnerApplication,
        ProvisioningJob,
    )
    from onboarding.secrets_box import seal

    partner = w.partner
    application = PartnerApplication.objects.create(
        company_name=f"{MARKER} Holdings",
        website=f"https://{MARKER.lower()}.example",
        domain=f"{MARKER.lower()}.example",
        country="DE",
        partner_type="reseller",
        contact_first_name=MARKER,
        contact_last_name="Applicant",
        contact_email=f"applicant@{MARKER.lower()}.example",
        business_description=f"{MARKER} business plan",
        status=ApplicationStatus.APPROVED,
        decided_at=timezone.now(),
        partner=partner,
    )
    job = ProvisioningJob.objects.create(
        partner=partner,
        application=application,
        idempotency_key=f"walk:provision:{partner.pk}",
        state=JobState.FAILED,
        last_error=f"{MARKER} downstream error",
    )
    provisioning.create_steps(job)
    item = ChecklistItem.objects.create(
        partner=partner, key="walk-training", title=f"{MARKER} training", due_at=timezone.now() + timedelta(days=7)
    )
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    document = onboarding_services.document_upload(
        actor=w.admin,
        partner=partner,
        upload=SimpleUploadedFile(f"{MARKER}-tax-form.pdf", pdf, content_type="application/pdf"),
    )
    # Unpublished, so no portal is gated by it; it only anchors partner A's acceptance row.
    agreement = Agreement.objects.create(title=f"{MARKER} walk agreement", version=900_001, body="Walk terms " * 5)
    acceptance = AgreementAcceptance.objects.create(
        partner=partner, agreement=agreement, version=agreement.version, sha256=agreement.sha256, accepted_by=w.admin
    )
    credential = IntegrationCredential.objects.create(
        partner=partner, user=w.rep, token_key="ph_walkkey0", encrypted_key=seal(f"{MARKER}-integration-key")
    )
    w.extra.update(
        onboarding_application=application,
        onboarding_status_token=onboarding_services.status_token(application),
        onboarding_job=job,
        onboarding_item=item,
        onboarding_document=document,
    )
    w.add(application, application.company_name, application.contact_email, application.business_description)
    w.add(job, job.last_error)
    w.add(item, item.title)
    w.add(document, document.original_name)
    w.add(acceptance)
    w.add(credential, f"{MARKER}-integration-key")


@builder
def support_desk(w: World) -> None:
    """Partner A's support: a customer's escalated ticket with a public reply, a partner note and a vendor note
    (each with a file), its private help-center article, and a help request waiting for verification."""
    import hashlib
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from support import services as support_services
    from support.choices import ArticleStatus, Visibility
    from support.models import HelpRequest

    partner, admin = w.partner, w.admin
    agent = make_staff(
        StaffRole.SUPPORT_AGENT, username=f"{MARKER.lower()}-agent", first_name="Walk", last_name="Agent"
    )
    customer = support_services.customer_get_or_create(
        actor=admin, partner=partner, email=f"customer@{MARKER.lower()}.example", name=f"{MARKER} Customer"
    )
    ticket = support_services.ticket_open(
        partner=partner,
        actor=admin,
        customer=customer,
        subject=f"{MARKER} ticket subject",
        description=f"{MARKER} ticket description",
    )
    public = support_services.ticket_reply(
        ticket=ticket,
        actor=admin,
        body=f"{MARKER} public reply",
        attachments=[SimpleUploadedFile(f"{MARKER}-public.txt", b"public notes")],
    )
    note = support_services.ticket_reply(
        ticket=ticket,
        actor=admin,
        body=f"{MARKER} partner note",
        visibility=Visibility.PARTNER_NOTE,
        attachments=[SimpleUploadedFile(f"{MARKER}-note.txt", b"partner notes")],
    )
    support_services.ticket_escalate(actor=admin, ticket=ticket, reason=f"{MARKER} escalation reason")
    vendor_note = support_services.ticket_reply(
        ticket=ticket,
        actor=agent,
        body=f"{MARKER} vendor note",
        visibility=Visibility.VENDOR_NOTE,
        attachments=[SimpleUploadedFile(f"{MARKER}-vendor.txt", b"vendor notes")],
    )
    article = support_services.article_save(
        actor=admin,
        partner=partner,
        title=f"{MARKER} private article",
        summary=f"{MARKER} summary",
        body=f"<p>{MARKER} article body</p>",
        status=ArticleStatus.PUBLISHED,
        customer_visible=True,
    )
    token = f"walk-help-{MARKER.lower()}-token"
    help_request = HelpRequest.objects.create(
        partner=partner,
        email=f"asker@{MARKER.lower()}.example",
        name=f"{MARKER} Asker",
        subject=f"{MARKER} help request",
        description="Walk",
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    w.extra.update(
        support_ticket=ticket,
        support_attachment=public.attachments.get(),
        support_article=article,
        support_help_token=token,
        support_customer_token=support_services.customer_ticket_token(ticket),
    )
    w.add(customer, customer.email, customer.name)
    w.add(ticket, ticket.subject, ticket.description, ticket.escalation_reason)
    for message in (public, note, vendor_note):
        w.add(message, message.body.replace("<p>", "").replace("</p>", ""))
        for file in message.attachments.all():
            w.add(file, file.original_name)
    w.add(article, article.title, article.summary)
    w.add(help_request, help_request.email, help_request.subject)


@builder
def support_configuration(w: World) -> None:
    """Program-wide support configuration (walked as Public): a category, working hours and an SLA policy."""
    from support.models import BusinessHours, Category, SlaPolicy

    category = Category.objects.create(name="Walk networking", slug="walk-networking")
    hours = BusinessHours.objects.create(
        name="Walk office", timezone="Europe/Berlin", schedule={"1": [["09:00", "17:00"]]}
    )
    policy = SlaPolicy.objects.create(
        name="Walk urgent",
        applies_to=SlaPolicy.Scope.ESCALATION,
        priority="urgent",
        first_response_minutes=30,
        resolution_minutes=240,
        business_hours=hours,
    )
    for obj in (category, hours, policy):
        w.objects_by_model[obj._meta.label_lower] = obj
        w.shared.add(obj._meta.label_lower)


@builder
def onboarding_console_and_api(w: World) -> None:
    """What the onboarding console and API pages need: partner A's webhook delivery, and partner A's application,
    job, checklist item, acceptance and document unless another builder made them; program-wide configuration
    (an agreement version, a checklist template, a webhook endpoint) is walked as Public."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from onboarding import provisioning
    from onboarding import services as onboarding_services
    from onboarding.choices import ApplicationStatus, JobState
    from onboarding.models import (
        Agreement,
        AgreementAcceptance,
        ChecklistItem,
        ChecklistTemplate,
        PartnerApplication,
        ProvisioningJob,
        WebhookDelivery,
        WebhookEndpoint,
    )

    partner, have = w.partner, w.objects_by_model
    if "onboarding.partnerapplication" not in have:
        application = PartnerApplication.objects.create(
            company_name=f"{MARKER} Applicant",
            country="DE",
            partner_type="reseller",
            contact_first_name=MARKER,
            contact_last_name="Contact",
            contact_email=f"contact@{MARKER.lower()}.example",
            status=ApplicationStatus.APPROVED,
            decided_at=timezone.now(),
            partner=partner,
        )
        w.add(application, application.company_name, application.contact_email)
    if "onboarding.provisioningjob" not in have:
        job = ProvisioningJob.objects.create(
            partner=partner,
            idempotency_key=f"walk:console:{partner.pk}",
            state=JobState.FAILED,
            last_error=f"{MARKER} step error",
        )
        provisioning.create_steps(job)
        w.add(job, job.last_error)
    if "onboarding.checklistitem" not in have:
        item = ChecklistItem.objects.create(
            partner=partner, key="walk-profile", title=f"{MARKER} profile", due_at=timezone.now() + timedelta(days=7)
        )
        w.add(item, item.title)
    if "onboarding.partnerdocument" not in have:
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        upload = SimpleUploadedFile(f"{MARKER}-form.pdf", pdf, content_type="application/pdf")
        document = onboarding_services.document_upload(actor=w.admin, partner=partner, upload=upload)
        w.add(document, document.original_name)
    if "onboarding.agreementacceptance" not in have:
        # Unpublished, so no portal is gated by it; it only anchors partner A's acceptance row.
        terms = Agreement.objects.create(title="Walk terms", version=900_002, body="Walk terms " * 5)
        acceptance = AgreementAcceptance.objects.create(
            partner=partner, agreement=terms, version=terms.version, sha256=terms.sha256, accepted_by=w.admin
        )
        w.add(acceptance)
    agreement = AgreementAcceptance.objects.get(pk=have["onboarding.agreementacceptance"].pk).agreement
    template = ChecklistTemplate.objects.create(name="Walk suppliers", partner_type="supplier", is_active=False)
    # Inactive: nothing the walk does queues a real delivery to it.
    endpoint = WebhookEndpoint.objects.create(name="Walk CRM", url="https://crm.walk.example/hook", is_active=False)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="partner.provisioned",
        event_id=f"walk-{partner.pk}-partner.provisioned",
        partner=partner,
        payload={"event": "partner.provisioned", "data": {"partner": {"name": partner.name, "slug": partner.slug}}},
    )
    w.add(delivery, partner.name)
    for shared in (agreement, template, endpoint):
        have.setdefault(shared._meta.label_lower, shared)
        w.shared.add(shared._meta.label_lower)


@builder
def comarketing_objects(w: World) -> None:
    """Partner A's co-marketing: an asset shared with A alone (co-brandable, with its file and thumbnail), A's
    co-branded render of it and a download, A's opt-in to a campaign for A only, A's MDF allocation with a
    submitted request and a claimed one, the claim and its proof. The campaign and the fund program are the
    vendor's program-wide records (walked as shared); the campaign's name carries no marker, because every
    marketing reviewer may see campaigns, while its copy is shown only to the partners it is for."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from comarketing import mdf
    from comarketing import services as comarketing_services
    from comarketing.choices import AssetKind, Audience, PublishStatus, TemplateKind
    from comarketing.models import Campaign, FundProgram

    partner, admin, today = w.partner, w.admin, timezone.localdate()
    marketing = make_staff(StaffRole.MARKETING_MANAGER, username="walk-marketing")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    asset = comarketing_services.asset_save(
        actor=marketing,
        title=f"{MARKER} price list",
        description=f"{MARKER} partner-only pricing",
        kind=AssetKind.PDF,
        audience=Audience.PARTNERS,
        partners=[partner],
        status=PublishStatus.PUBLISHED,
        publish_at=timezone.now() - timedelta(days=1),
        template_kind=TemplateKind.HTML,
    )
    comarketing_services.asset_add_version(
        actor=marketing,
        asset=asset,
        upload=SimpleUploadedFile(f"{MARKER}-prices.pdf", pdf),
        html_template="<h1>{{ partner.name }}</h1><p>{{ partner.email }}</p>",
    )
    asset.refresh_from_db()
    campaign = Campaign.objects.create(
        name="Walk partner-only campaign",
        slug="walk-partner-only-campaign",
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=30),
        audience=Audience.PARTNERS,
        status=PublishStatus.PUBLISHED,
        email_copy=f"{MARKER} launch e-mail",
    )
    campaign.partners.add(partner)
    campaign.assets.add(asset)
    render = comarketing_services.cobrand_request(actor=admin, partner=partner, asset=asset)
    comarketing_services.cobrand_render(render.pk)
    render.refresh_from_db()
    opt_in = comarketing_services.campaign_opt_in(actor=admin, partner=partner, campaign=campaign)
    download = comarketing_services.download_record(
        actor=w.rep, partner=partner, asset=asset, cobranded=True, campaign=campaign
    )
    program = FundProgram.objects.create(
        name="Walk MDF",
        period_start=today - timedelta(days=365),
        period_end=today + timedelta(days=365),
        budget=1_000_000,
    )
    allocation = mdf.allocation_grant(actor=marketing, partner=partner, program=program, amount="10000")
    submitted = mdf.request_submit(
        actor=admin,
        allocation=allocation,
        activity=f"{MARKER} webinar",
        description=f"{MARKER} webinar plan",
        planned_cost="500",
        starts_on=today + timedelta(days=3),
        ends_on=today + timedelta(days=4),
    )
    claimed = mdf.request_submit(
        actor=admin,
        allocation=allocation,
        activity=f"{MARKER} roadshow",
        planned_cost="2000",
        starts_on=today - timedelta(days=5),
        ends_on=today - timedelta(days=4),
    )
    mdf.request_approve(actor=marketing, request=claimed)
    claim = mdf.claim_submit(
        actor=admin,
        request=claimed,
        actual_cost="1500",
        leads=12,
        deals=1,
        revenue="9000",
        notes=f"{MARKER} claim notes",
        proofs=[SimpleUploadedFile(f"{MARKER}-invoice.pdf", pdf)],
    )
    proof = claim.proofs.get()
    w.extra.update(
        comarketing_asset=asset,
        comarketing_render=render,
        comarketing_campaign=campaign,
        comarketing_request=submitted,
        comarketing_claimed_request=claimed,
        comarketing_claim=claim,
        comarketing_proof=proof,
    )
    w.add(asset, asset.title, asset.description, f"{MARKER}-prices.pdf")
    w.add(render)
    w.add(download)
    w.add(opt_in, campaign.email_copy)
    w.add(allocation)
    w.add(submitted, submitted.activity, submitted.description)
    w.add(claim, claimed.activity, claim.notes)
    w.add(proof, proof.original_name)
    for shared in (campaign, program):
        w.objects_by_model.setdefault(shared._meta.label_lower, shared)
        w.shared.add(shared._meta.label_lower)


@builder
def comarketing_console(w: World) -> None:
    """What the co-marketing console and API need beyond the portal's objects: a ledger entry of partner A's
    allocation (the console's ledger pages), and partner A's allocation itself unless another builder made it."""
    from datetime import timedelta

    from django.utils import timezone

    from comarketing import mdf
    from comarketing.models import FundProgram, LedgerEntry

    have = w.objects_by_model
    if "comarketing.fundallocation" not in have:
        today = timezone.localdate()
        program = FundProgram.objects.create(
            name="Walk console MDF",
            period_start=today - timedelta(days=30),
            period_end=today + timedelta(days=300),
            budget=100_000,
        )
        w.add(mdf.allocation_grant(actor=None, partner=w.partner, program=program, amount="500"))
        have.setdefault("comarketing.fundprogram", program)
        w.shared.add("comarketing.fundprogram")
    w.add(LedgerEntry.objects.filter(allocation=have["comarketing.fundallocation"]).order_by("id").first())


def build_world() -> World:
    world = World()
    for build in BUILDERS:
        build(world)
    return world


def outsiders() -> dict[str, object]:
    """Partner B's rep and admin and a channel manager of B only, plus nobody signed in."""
    partner_b = make_partner("Bystander Supply", partner_type="distributor")
    return {
        "anonymous": None,
        "rep_b": make_member(partner_b, MembershipRole.REP, username="walk-rep-b"),
        "admin_b": make_member(partner_b, MembershipRole.ADMIN, username="walk-admin-b"),
        "manager_b": make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner_b], username="walk-cm-b"),
    }
