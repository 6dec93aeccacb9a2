"""Onboarding's part of ``seed_demo``: the program agreement, checklists, applications waiting for review,
a provisioned partner's job history and a webhook endpoint (a local address that does not answer)."""

from __future__ import annotations

from partnerhub import demo

AGREEMENT_TITLE = "Partner Program Agreement"
AGREEMENT_BODY = """1. Scope. This agreement governs your participation in the partner program: reselling, referring or
supplying the vendor's products, using the partner portal, and co-marketing.
2. Deal registration. Registered opportunities are protected for 90 days from approval.
3. Marketing funds. Market development funds are paid against approved claims with proof of performance.
4. Brand use. You may co-brand the vendor's marketing assets through the portal; other use needs approval.
5. Support. You provide first-line support to your customers and escalate through the portal.
6. Data. Each party protects the other's confidential information and personal data it receives.
7. Term. The agreement runs for one year and renews automatically; either party may end it with 30 days' notice."""

CHECKLIST = [
    ("profile", "Complete your partner profile", "Logo, tagline and support contacts.", "profile.completed", 7),
    ("agreement", "Accept the program agreement", "", "agreement.accepted", 3),
    (
        "tax-form",
        "Upload your tax form",
        "W-9, W-8BEN or your country's equivalent, as PDF or scan.",
        "tax_form.uploaded",
        14,
    ),
    ("team", "Invite your team", "Bring in the reps who register deals and answer tickets.", "team.invited", 14),
    ("training", "Complete the first sales training", "Forty minutes on the product line and the program.", "", 30),
    ("first-deal", "Register your first deal", "Protect your first opportunity for 90 days.", "deal.registered", 60),
]

APPLICATIONS = [
    {
        "company_name": "Lakeside Networks",
        "website": "https://www.lakeside-networks.example",
        "country": "NL",
        "region": "EMEA",
        "partner_type": "reseller",
        "contact_first_name": "Lotte",
        "contact_last_name": "de Wit",
        "contact_email": "lotte@lakeside-networks.example",
        "contact_phone": "+31 20 555 0101",
        "contact_title": "Sales director",
        "expected_annual_revenue": "400000",
        "expected_deals_per_quarter": 15,
        "business_description": "Managed networking for hospitals and universities in the Netherlands.",
    },
    {
        "company_name": "Northwind Trading Co",
        "website": "https://www.northwind.example",
        "country": "SE",
        "region": "EMEA",
        "partner_type": "reseller",
        "contact_first_name": "Erik",
        "contact_last_name": "Holm",
        "contact_email": "erik@northwind.example",
        "contact_phone": "",
        "contact_title": "Buyer",
        "expected_annual_revenue": "50000",
        "expected_deals_per_quarter": 2,
        "business_description": "A second office of an existing partner (flagged as a possible duplicate).",
    },
    {
        "company_name": "Pacific Referral Group",
        "website": "https://pacific-referrals.example",
        "country": "AU",
        "region": "APAC",
        "partner_type": "referral",
        "contact_first_name": "Mia",
        "contact_last_name": "Chen",
        "contact_email": "mia@pacific-referrals.example",
        "contact_phone": "+61 2 5550 1234",
        "contact_title": "Partner",
        "expected_annual_revenue": "120000",
        "expected_deals_per_quarter": 6,
        "business_description": "Introductions to mid-market retailers across Australia and New Zealand.",
    },
]


@demo.register("onboarding")
def seed(ctx: demo.DemoContext) -> None:
    from onboarding import services
    from onboarding.models import (
        Agreement,
        AgreementAcceptance,
        ChecklistTemplate,
        ChecklistTemplateItem,
        PartnerApplication,
        WebhookEndpoint,
    )
    from partnerhub.models import Membership

    actor = ctx.superuser
    agreement = Agreement.objects.filter(title=AGREEMENT_TITLE).order_by("-version").first()
    if agreement is None:
        agreement = services.agreement_publish(actor=actor, title=AGREEMENT_TITLE, body=AGREEMENT_BODY)
        ctx.created.append("program agreement")
    # Active partners have accepted it (their admins clicked through); the onboarding partner has not yet,
    # so its portal shows the agreement first.
    for partner in ctx.partners.values():
        if partner.status != "active" or AgreementAcceptance.objects.filter(partner=partner).exists():
            continue
        admin = Membership.objects.filter(partner=partner, role="admin", is_active=True).select_related("user").first()
        if admin:
            services.agreement_accept(
                actor=admin.user, partner=partner, agreement=agreement, ip_address="192.0.2.10", user_agent="seed_demo"
            )
    template, created = ChecklistTemplate.objects.get_or_create(name="Every partner", partner_type="", tier=None)
    if created:
        for position, (key, title, description, event, days) in enumerate(CHECKLIST):
            ChecklistTemplateItem.objects.create(
                template=template,
                key=key,
                title=title,
                description=description,
                event=event,
                due_days=days,
                position=position,
            )
        ctx.created.append("onboarding checklist")
    for partner in ctx.partners.values():
        if partner.can_sign_in:
            services.checklist_create_for_partner(partner=partner)
    for data in APPLICATIONS:
        if not PartnerApplication.objects.filter(company_name=data["company_name"]).exists():
            application = services.application_submit(data=dict(data), ip_address="198.51.100.23")
            ctx.created.append(f"application {application.company_name}")
            if data["company_name"].startswith("Pacific"):
                reviewer = ctx.staff.get("carla") or actor
                services.application_request_info(
                    actor=reviewer,
                    application=application,
                    message="Which product lines do your customers use today, and do you have certified staff?",
                )
    if not WebhookEndpoint.objects.filter(name="CRM (demo)").exists():
        WebhookEndpoint.objects.create(
            name="CRM (demo)",
            url="http://127.0.0.1:9/partnerhub-events",
            events=["partner.provisioned", "partner.offboarded"],
            is_active=False,
        )
    ctx.notes.append("Onboarding: apply at /apply/ ; vendor review queue at /review/ (carla, olga).")
