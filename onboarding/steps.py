"""The provisioning and offboarding steps of the core program. Each one is idempotent: run twice, same state.

Steps call the core's services (never its models' writes directly), so every change is audited exactly as if
a person had made it.
"""

from __future__ import annotations

from django.db import transaction

from onboarding import services as onboarding_services
from onboarding import webhooks
from onboarding.choices import JobKind
from onboarding.models import IntegrationCredential, PartnerApplication
from onboarding.provisioning import StepContext, register_step
from onboarding.secrets_box import seal
from partnerhub import roles
from partnerhub import services as core
from partnerhub.choices import MembershipRole, PartnerStatus, StaffRole
from partnerhub.models import Invitation, Membership, PartnerBrand, User

# Brand defaults by partner type: a distinct, accessible starting palette the partner admin can change.
DEFAULT_COLOURS = {
    "reseller": ("#1f4fd1", "#0f9d8a"),
    "distributor": ("#6d28d9", "#db2777"),
    "referral": ("#0f766e", "#ca8a04"),
    "supplier": ("#b45309", "#1d4ed8"),
    "internal": ("#334155", "#0ea5e9"),
}


@register_step("core.create_partner", title="Create the partner, its groups and grants", position=10)
def create_partner(ctx: StepContext) -> dict:
    application = PartnerApplication.objects.select_for_update().get(pk=ctx.application.pk)
    partner = application.partner
    if partner is None:
        partner = core.partner_create(
            actor=ctx.actor,
            name=application.company_name,
            partner_type=application.partner_type,
            status=PartnerStatus.ONBOARDING,
            tier=application.tier,
            parent=application.parent
            if application.parent and application.parent.partner_type == "distributor"
            else None,
            website=application.website,
            country=application.country,
            region=application.region,
        )
        application.partner = partner
        application.save(update_fields=["partner", "updated_at"])
    ctx.job.partner = partner
    ctx.job.save(update_fields=["partner"])
    # The channel manager who approved the application manages the new partner.
    approver = ctx.actor
    if (
        approver is not None
        and approver.is_staff
        and approver.groups.filter(name=roles.GROUP_NAMES[StaffRole.CHANNEL_MANAGER]).exists()
    ):
        core.channel_manager_assign(actor=approver, partner=partner, manager=approver)
    return {"partner_id": partner.pk, "slug": partner.slug}


@register_step("core.invite_admin", title="Create the partner admin's invitation and send it", position=20)
def invite_admin(ctx: StepContext) -> dict:
    email = ctx.application.contact_email.lower()
    partner = ctx.partner
    if Membership.objects.filter(partner=partner, user__email__iexact=email, is_active=True).exists():
        return {"email": email, "state": "already a member"}
    existing = Invitation.objects.filter(partner=partner, email__iexact=email, revoked_at__isnull=True).first()
    if existing is not None:
        return {"email": email, "invitation_id": existing.pk, "state": existing.state}
    invitation = core.invitation_create(actor=ctx.actor, partner=partner, email=email, role=MembershipRole.ADMIN)
    return {"email": email, "invitation_id": invitation.pk, "state": "sent"}


@register_step("core.integration_key", title="Issue API credentials for the partner's integration", position=30)
def integration_key(ctx: StepContext) -> dict:
    partner = ctx.partner
    credential = IntegrationCredential.objects.filter(partner=partner).first()
    if credential is not None:
        return {"user_id": credential.user_id, "token_key": credential.token_key}
    username = f"integration+{partner.slug}"[:150]
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={
            "email": f"{username}@integrations.partnerhub.invalid",
            "first_name": partner.name[:150],
            "last_name": "integration",
        },
    )
    if user.has_usable_password():
        user.set_unusable_password()  # the integration signs in with its key only
        user.save(update_fields=["password"])
    if not Membership.objects.filter(partner=partner, user=user, is_active=True).exists():
        core.membership_add(
            actor=ctx.actor, partner=partner, user=user, role=MembershipRole.REP, title="API integration"
        )
    row, key = core.api_token_create(
        actor=ctx.actor, user=user, name=f"{partner.name} integration"[:80], expires_in_days=365
    )
    IntegrationCredential.objects.create(partner=partner, user=user, token_key=row.token_key, encrypted_key=seal(key))
    return {"user_id": user.pk, "token_key": row.token_key}


@register_step("core.brand_defaults", title="Apply the brand defaults", position=40)
def brand_defaults(ctx: StepContext) -> dict:
    partner = ctx.partner
    brand = PartnerBrand.objects.get(partner=partner)
    if brand.version > 1:
        return {"version": brand.version, "state": "already branded"}
    primary, accent = DEFAULT_COLOURS.get(partner.partner_type, DEFAULT_COLOURS["reseller"])
    application = ctx.application
    brand = core.brand_update(
        actor=ctx.actor,
        brand=brand,
        display_name=application.company_name[:120],
        primary_color=primary,
        accent_color=accent,
        support_email=application.contact_email,
        support_phone=application.contact_phone[:40],
    )
    return {"version": brand.version, "subdomain": brand.subdomain}


@register_step("core.checklist", title="Create the onboarding checklist", position=50)
def checklist(ctx: StepContext) -> dict:
    created = onboarding_services.checklist_create_for_partner(partner=ctx.partner)
    return {"items": created}


@register_step("core.notify", title="Notify downstream systems (signed webhook)", position=80)
def notify(ctx: StepContext) -> dict:
    partner = ctx.partner
    count = webhooks.queue_event(
        event="partner.provisioned",
        event_id=f"job-{ctx.job.pk}-partner.provisioned",
        partner=partner,
        job=ctx.job,
        data={"partner": webhooks.partner_payload(partner), "application_id": ctx.application.pk},
    )
    return {"deliveries": count}


@register_step("core.activate", title="Activate the partner", position=90)
def activate(ctx: StepContext) -> dict:
    partner = ctx.partner
    if partner.status != PartnerStatus.ACTIVE:
        core.partner_change_status(
            actor=ctx.actor, partner=partner, status=PartnerStatus.ACTIVE, reason="Provisioning completed"
        )
    transaction.on_commit(lambda: onboarding_services.notify_provisioned(partner_id=partner.pk))
    return {"status": PartnerStatus.ACTIVE}


# Offboarding ---------------------------------------------------------------------------------------------------


@register_step("core.deactivate_users", title="Deactivate the partner's users", position=10, kind=JobKind.DEPROVISION)
def deactivate_users(ctx: StepContext) -> dict:
    users = core.partner_members_deactivate_all(actor=ctx.actor, partner=ctx.partner, reason=ctx.job.reason)
    return {"deactivated": len(users)}


@register_step("core.revoke_keys", title="Revoke the partner's API keys", position=20, kind=JobKind.DEPROVISION)
def revoke_keys(ctx: StepContext) -> dict:
    revoked = core.partner_api_tokens_revoke(actor=ctx.actor, partner=ctx.partner, reason=ctx.job.reason)
    IntegrationCredential.objects.filter(partner=ctx.partner).update(encrypted_key="")
    return {"revoked": revoked}


@register_step("core.revoke_grants", title="Revoke channel manager grants", position=30, kind=JobKind.DEPROVISION)
def revoke_grants(ctx: StepContext) -> dict:
    return {"unassigned": core.partner_managers_unassign_all(actor=ctx.actor, partner=ctx.partner)}


@register_step("core.mark_offboarded", title="Mark the partner offboarded", position=40, kind=JobKind.DEPROVISION)
def mark_offboarded(ctx: StepContext) -> dict:
    partner = ctx.partner
    if partner.status != PartnerStatus.OFFBOARDED:
        core.partner_change_status(
            actor=ctx.actor, partner=partner, status=PartnerStatus.OFFBOARDED, reason=ctx.job.reason or "Offboarded"
        )
    return {"status": PartnerStatus.OFFBOARDED}


@register_step(
    "core.notify_offboarded", title="Notify downstream systems (signed webhook)", position=50, kind=JobKind.DEPROVISION
)
def notify_offboarded(ctx: StepContext) -> dict:
    count = webhooks.queue_event(
        event="partner.offboarded",
        event_id=f"job-{ctx.job.pk}-partner.offboarded",
        partner=ctx.partner,
        job=ctx.job,
        data={"partner": webhooks.partner_payload(ctx.partner), "reason": ctx.job.reason},
    )
    return {"deliveries": count}
