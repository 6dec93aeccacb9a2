"""How the isolation walk fills each URL pattern with partner A's objects.

Every URL pattern of the project must appear here (console model pages are derived from the console's
registered models and ``World.objects_by_model``). A route is one of:

* ``Page()`` — no parameters; the walk requests it (and with search terms) and checks that no trace of
  partner A appears for outsiders;
* ``Obj(param=lambda w: ...)`` — parameters that point at partner A's objects; for outsiders each method must
  answer exactly like it does for an object that does not exist (``ghost``), never 2xx, never 5xx;
* ``Public(reason, ...)`` — deliberately reachable without partner scope (sign-in, capability links, public
  brand assets, program-wide data); the walk still checks it never answers 5xx and leaks no partner A data
  beyond what ``reason`` states.

Feature apps add their routes to ``ROUTES`` and their partner-A objects in ``tests/quality/world.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Getter = Callable[["object"], object]


@dataclass(frozen=True)
class Page:
    methods: tuple[str, ...] = ("GET",)
    params: dict[str, Getter] = field(default_factory=dict)


@dataclass(frozen=True)
class Obj:
    params: dict[str, Getter]
    ghost: dict[str, object] = field(default_factory=dict)
    methods: tuple[str, ...] = ("GET", "POST")

    def __init__(self, methods: tuple[str, ...] = ("GET", "POST"), ghost: dict | None = None, **params: Getter):
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "ghost", ghost or {})
        object.__setattr__(self, "methods", methods)


@dataclass(frozen=True)
class Public:
    reason: str
    params: dict[str, Getter] = field(default_factory=dict)
    methods: tuple[str, ...] = ("GET",)


API = ("GET", "PUT", "PATCH", "DELETE", "POST")
ACTION = ("GET", "POST")

ROUTES: dict[str, Page | Obj | Public] = {
    # Core pages and sign-in
    "healthz": Public("service health, no partner data"),
    "login": Public("sign-in page; on a partner host it shows that partner's public brand"),
    "logout": Public("ends the caller's own session", methods=("GET",)),
    "password_reset": Public("asks for an e-mail address; the answer is the same for every address"),
    "password_reset_done": Public("static confirmation"),
    "password_reset_complete": Public("static confirmation"),
    "password_reset_confirm": Public(
        "a capability link: only the holder of a valid token can act; a wrong token shows the invalid-link page",
        params={"uidb64": lambda w: w.reset_uid, "token": lambda w: w.reset_token},
    ),
    "invitation_accept": Public(
        "a capability link: the signed, single-use token is the authority; a wrong one shows the invalid-link page",
        params={"token": lambda w: w.invitation_token},
    ),
    "brand_logo": Public(
        "a partner's logo is public brand material, shown on its own sign-in page",
        params={"subdomain": lambda w: w.partner.brand.subdomain},
    ),
    # Portal
    "portal:home": Page(),
    "portal:switch": Page(methods=("GET",)),
    "portal:team": Page(),
    "portal:team_invite": Page(methods=("GET",)),
    "portal:settings_brand": Page(),
    "portal:api_keys": Page(),
    "portal:member_role": Obj(pk=lambda w: w.rep_membership.pk, ghost={"pk": 987654321}),
    "portal:member_deactivate": Obj(pk=lambda w: w.rep_membership.pk, ghost={"pk": 987654321}),
    "portal:invitation_revoke": Obj(pk=lambda w: w.invitation.pk, ghost={"pk": 987654321}),
    "portal:api_key_revoke": Obj(key=lambda w: w.token.token_key, ghost={"key": "ph_ghost00000000"}),
    # Onboarding: the public application, the vendor review queue, the partner's agreement and onboarding pages
    "onboarding:apply": Public("the public application form; it shows no partner's data"),
    "onboarding:apply_received": Public("confirms the visitor's own submission, found through their own session"),
    "onboarding:application_status": Public(
        "a capability link: the signed token names one application and is the applicant's only authority",
        params={"token": lambda w: w.onboarding_status_token},
    ),
    "onboarding:review_queue": Page(),
    "onboarding:review_detail": Obj(pk=lambda w: w.onboarding_application.pk, ghost={"pk": 987654321}),
    "onboarding:review_approve": Obj(pk=lambda w: w.onboarding_application.pk, ghost={"pk": 987654321}),
    "onboarding:review_reject": Obj(pk=lambda w: w.onboarding_application.pk, ghost={"pk": 987654321}),
    "onboarding:review_request_info": Obj(pk=lambda w: w.onboarding_application.pk, ghost={"pk": 987654321}),
    "onboarding:review_note": Obj(pk=lambda w: w.onboarding_application.pk, ghost={"pk": 987654321}),
    "onboarding:job_detail": Obj(pk=lambda w: w.onboarding_job.pk, ghost={"pk": 987654321}),
    "onboarding:job_retry": Obj(pk=lambda w: w.onboarding_job.pk, ghost={"pk": 987654321}),
    "onboarding:agreement": Page(),
    "onboarding:home": Page(),
    "onboarding:checklist_item": Obj(pk=lambda w: w.onboarding_item.pk, ghost={"pk": 987654321}),
    "onboarding:document_upload": Page(methods=("GET",)),
    "onboarding:document_download": Obj(pk=lambda w: w.onboarding_document.pk, ghost={"pk": 987654321}),
    "onboarding:integration_key": Page(methods=("GET",)),
    # Support: the partner's desk, tickets and knowledge base, the vendor agents' pages, the help center (which
    # answers only on a partner's own host, so the walk's host gets 404 for every help route)
    "support:desk": Page(methods=("GET", "POST")),
    "support:ticket_new": Page(methods=("GET", "POST")),
    "support:ticket": Obj(pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "support:attachment": Obj(pk=lambda w: w.support_attachment.pk, ghost={"pk": 987654321}),
    "support:suggest": Page(),
    "support:kb": Page(),
    "support:article_new": Page(methods=("GET", "POST")),
    "support:article": Obj(pk=lambda w: w.support_article.pk, ghost={"pk": 987654321}),
    "support:article_edit": Obj(pk=lambda w: w.support_article.pk, ghost={"pk": 987654321}),
    "support:agent_queue": Page(),
    "support:agent_ticket": Obj(pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "support:help_home": Page(),
    "support:help_article": Obj(pk=lambda w: w.support_article.pk, ghost={"pk": 987654321}),
    "support:help_suggest": Page(),
    "support:help_request": Page(methods=("GET", "POST")),
    "support:help_request_sent": Page(),
    "support:help_verify": Obj(token=lambda w: w.support_help_token, ghost={"token": "not-a-real-token"}),
    "support:help_ticket": Obj(token=lambda w: w.support_customer_token, ghost={"token": "bm90LWEtdG9rZW4:1x:y"}),
    "support:help_attachment": Obj(
        token=lambda w: w.support_customer_token,
        pk=lambda w: w.support_attachment.pk,
        ghost={"token": "bm90LWEtdG9rZW4:1x:y", "pk": 987654321},
    ),
    # Co-marketing: the portal's asset library, co-branded files, campaigns and funds (partner A's asset is shared
    # with A alone), and the marketing team's review pages (scoped to the reviewer's partners)
    "comarketing:assets": Page(),
    "comarketing:asset": Obj(pk=lambda w: w.comarketing_asset.pk, ghost={"pk": 987654321}),
    "comarketing:asset_thumbnail": Obj(pk=lambda w: w.comarketing_asset.pk, ghost={"pk": 987654321}),
    "comarketing:asset_download": Obj(pk=lambda w: w.comarketing_asset.pk, ghost={"pk": 987654321}),
    "comarketing:cobrand": Obj(pk=lambda w: w.comarketing_asset.pk, ghost={"pk": 987654321}),
    "comarketing:render": Obj(pk=lambda w: w.comarketing_render.pk, ghost={"pk": 987654321}),
    "comarketing:render_file": Obj(pk=lambda w: w.comarketing_render.pk, ghost={"pk": 987654321}),
    "comarketing:campaigns": Page(),
    "comarketing:campaign": Obj(pk=lambda w: w.comarketing_campaign.pk, ghost={"pk": 987654321}),
    "comarketing:campaign_opt_in": Obj(pk=lambda w: w.comarketing_campaign.pk, ghost={"pk": 987654321}),
    "comarketing:funds": Page(),
    "comarketing:request_new": Page(methods=("GET", "POST")),
    "comarketing:request": Obj(pk=lambda w: w.comarketing_request.pk, ghost={"pk": 987654321}),
    "comarketing:request_claim": Obj(pk=lambda w: w.comarketing_request.pk, ghost={"pk": 987654321}),
    "comarketing:request_cancel": Obj(pk=lambda w: w.comarketing_request.pk, ghost={"pk": 987654321}),
    "comarketing:proof": Obj(pk=lambda w: w.comarketing_proof.pk, ghost={"pk": 987654321}),
    "comarketing:review": Page(),
    "comarketing:review_request": Obj(pk=lambda w: w.comarketing_request.pk, ghost={"pk": 987654321}),
    "comarketing:review_claim": Obj(pk=lambda w: w.comarketing_claim.pk, ghost={"pk": 987654321}),
    "comarketing:utilisation": Page(),
    "comarketing:review_campaigns": Page(),
    # Campaigns are the vendor's program-wide records; the report lists only partners in the reviewer's scope
    "comarketing:campaign_report": Page(params={"pk": lambda w: w.comarketing_campaign.pk}),
    # API
    "api-root": Page(),
    "api-schema": Public("the OpenAPI document describes operations, not data"),
    "api-docs": Public("interactive documentation page, no data"),
    "me": Page(),
    "partner-list": Page(),
    "partner-detail": Obj(methods=API, pk=lambda w: w.partner.pk, ghost={"pk": 987654321}),
    "partner-brand": Obj(methods=API, pk=lambda w: w.partner.pk, ghost={"pk": 987654321}),
    "partner-brand-logo": Obj(methods=API, pk=lambda w: w.partner.pk, ghost={"pk": 987654321}),
    "partner-suspend": Obj(methods=API, pk=lambda w: w.partner.pk, ghost={"pk": 987654321}),
    "partner-reactivate": Obj(methods=API, pk=lambda w: w.partner.pk, ghost={"pk": 987654321}),
    "tier-list": Public("tiers are program-wide facts every partner may read"),
    "tier-detail": Public("tiers are program-wide facts every partner may read", params={"pk": lambda w: w.tier.pk}),
    "membership-list": Page(),
    "membership-detail": Obj(methods=API, pk=lambda w: w.rep_membership.pk, ghost={"pk": 987654321}),
    "invitation-list": Page(),
    "invitation-detail": Obj(methods=API, pk=lambda w: w.invitation.pk, ghost={"pk": 987654321}),
    "invitation-revoke": Obj(methods=API, pk=lambda w: w.invitation.pk, ghost={"pk": 987654321}),
    "me-token-list": Page(),
    "me-token-detail": Obj(methods=API, token_key=lambda w: w.token.token_key, ghost={"token_key": "ph_ghost0000"}),
    # Support API: partner A's ticket, its thread and files, its customer and private article
    "ticket-list": Page(),
    "ticket-detail": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-escalate": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-assign-vendor": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-rate": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-messages": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-attachments": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-events": Obj(methods=API, pk=lambda w: w.support_ticket.pk, ghost={"pk": 987654321}),
    "ticket-attachment-download": Obj(
        methods=API,
        pk=lambda w: w.support_ticket.pk,
        attachment_id=lambda w: w.support_attachment.pk,
        ghost={"pk": 987654321, "attachment_id": 987654321},
    ),
    "customer-list": Page(),
    "customer-detail": Obj(
        methods=API, pk=lambda w: w.objects_by_model["support.customer"].pk, ghost={"pk": 987654321}
    ),
    "article-list": Page(),
    "article-search": Page(),
    "article-detail": Obj(methods=API, pk=lambda w: w.support_article.pk, ghost={"pk": 987654321}),
    "article-vote": Obj(methods=API, pk=lambda w: w.support_article.pk, ghost={"pk": 987654321}),
    "partner-metrics-list": Page(),
    "sla-policy-list": Public("SLA targets are program-wide configuration every signed-in user may read"),
    "sla-policy-detail": Public(
        "SLA targets are program-wide configuration",
        params={"pk": lambda w: w.objects_by_model["support.slapolicy"].pk},
    ),
    "business-hours-list": Public("working hours are program-wide configuration every signed-in user may read"),
    "business-hours-detail": Public(
        "working hours are program-wide configuration",
        params={"pk": lambda w: w.objects_by_model["support.businesshours"].pk},
    ),
    "category-list": Public("ticket categories are program-wide configuration every signed-in user may read"),
    "category-detail": Public(
        "ticket categories are program-wide configuration",
        params={"pk": lambda w: w.objects_by_model["support.category"].pk},
    ),
    # Onboarding API: partner A's approved application, job, checklist item, acceptance and webhook delivery;
    # agreement versions are program-wide
    # (POST is the public application form of the API: anyone may apply; its bad input is tested in tests/onboarding)
    "application-list": Page(),
    "application-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.partnerapplication"].pk),
    "application-approve": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.partnerapplication"].pk),
    "application-reject": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.partnerapplication"].pk),
    "application-request-info": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.partnerapplication"].pk),
    "application-notes": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.partnerapplication"].pk),
    "agreement-list": Public("published agreement versions are program-wide; every signed-in user reads them"),
    "agreement-current": Public("the current agreement version is program-wide"),
    "agreement-detail": Public(
        "agreement versions are program-wide", params={"pk": lambda w: w.objects_by_model["onboarding.agreement"].pk}
    ),
    "agreement-accept": Public(
        "agreement versions are program-wide; the partner in the body is a scoped id like any other",
        params={"pk": lambda w: w.objects_by_model["onboarding.agreement"].pk},
        methods=("GET", "POST"),
    ),
    "agreement-acceptance-list": Page(),
    "agreement-acceptance-detail": Obj(
        methods=API, pk=lambda w: w.objects_by_model["onboarding.agreementacceptance"].pk
    ),
    "checklist-item-list": Page(),
    "checklist-item-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.checklistitem"].pk),
    "provisioning-job-list": Page(),
    "provisioning-job-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.provisioningjob"].pk),
    "provisioning-job-retry": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.provisioningjob"].pk),
    "offboarding-list": Page(methods=("GET", "POST")),
    "webhook-endpoint-list": Page(),
    "webhook-endpoint-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.webhookendpoint"].pk),
    "webhook-delivery-list": Page(),
    "webhook-delivery-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["onboarding.webhookdelivery"].pk),
    # Onboarding console pages beyond the model pages
    "console:onboarding_checklistitem_progress": Page(),
    "console:onboarding_partnerdocument_download": Obj(
        object_id=lambda w: w.objects_by_model["onboarding.partnerdocument"].pk, ghost={"object_id": 987654321}
    ),
    # Co-marketing API: partner A's asset (shared with A alone), co-branded file, download, opt-in to a campaign for
    # A alone, allocation with its ledger, requests, claim and proof; fund programs are program-wide
    "asset-list": Page(methods=("GET", "POST")),
    "asset-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.asset"].pk),
    "asset-versions": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.asset"].pk),
    "asset-download": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.asset"].pk),
    "asset-thumbnail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.asset"].pk),
    "asset-cobrand": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.asset"].pk),
    "cobranded-file-list": Page(),
    "cobranded-file-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.cobrandedfile"].pk),
    "cobranded-file-download": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.cobrandedfile"].pk),
    "asset-download-list": Page(),
    "asset-download-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.assetdownload"].pk),
    "campaign-list": Page(methods=("GET", "POST")),
    "campaign-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.campaign"].pk),
    "campaign-opt-in": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.campaign"].pk),
    "campaign-report": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.campaign"].pk),
    "campaign-opt-in-list": Page(),
    "campaign-opt-in-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.campaignoptin"].pk),
    "fund-program-list": Public("fund programs are program-wide; every signed-in user reads them"),
    "fund-program-detail": Public(
        "fund programs are program-wide", params={"pk": lambda w: w.objects_by_model["comarketing.fundprogram"].pk}
    ),
    "fund-allocation-list": Page(),
    "fund-allocation-grant": Page(methods=("GET", "POST")),
    "fund-allocation-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundallocation"].pk),
    "fund-allocation-ledger": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundallocation"].pk),
    "fund-request-list": Page(methods=("GET", "POST")),
    "fund-request-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundrequest"].pk),
    "fund-request-approve": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundrequest"].pk),
    "fund-request-reject": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundrequest"].pk),
    "fund-request-cancel": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundrequest"].pk),
    "fund-claim-list": Page(methods=("GET", "POST")),
    "fund-claim-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundclaim"].pk),
    "fund-claim-approve": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundclaim"].pk),
    "fund-claim-reject": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundclaim"].pk),
    "fund-claim-pay": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.fundclaim"].pk),
    "claim-proof-list": Page(),
    "claim-proof-detail": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.claimproof"].pk),
    "claim-proof-download": Obj(methods=API, pk=lambda w: w.objects_by_model["comarketing.claimproof"].pk),
    # Co-marketing console pages beyond the model pages: "Add version", version previews and files, claim proofs
    "console:comarketing_asset_add_version": Obj(
        object_id=lambda w: w.objects_by_model["comarketing.asset"].pk, ghost={"object_id": 987654321}
    ),
    "console:comarketing_asset_thumbnail": Obj(
        object_id=lambda w: w.objects_by_model["comarketing.asset"].pk,
        version_id=lambda w: w.objects_by_model["comarketing.asset"].current_version_id,
        ghost={"object_id": 987654321, "version_id": 987654321},
    ),
    "console:comarketing_asset_file": Obj(
        object_id=lambda w: w.objects_by_model["comarketing.asset"].pk,
        version_id=lambda w: w.objects_by_model["comarketing.asset"].current_version_id,
        ghost={"object_id": 987654321, "version_id": 987654321},
    ),
    "console:comarketing_fundclaim_proof": Obj(
        object_id=lambda w: w.objects_by_model["comarketing.fundclaim"].pk,
        proof_id=lambda w: w.objects_by_model["comarketing.claimproof"].pk,
        ghost={"object_id": 987654321, "proof_id": 987654321},
    ),
    # Console: pages without an object (object pages are derived from the registered models)
    "console:index": Page(),
    "console:login": Public("console sign-in page"),
    "console:logout": Public("ends the caller's own session", methods=("GET",)),
    "console:password_change": Page(methods=("GET",)),
    "console:password_change_done": Page(),
    "console:autocomplete": Page(),
    "console:jsi18n": Public("translation catalogue for the console's scripts"),
    "console/(?P<url>.*)$": Public("the console's catch-all for unknown addresses", params={"url": lambda w: "nope/"}),
    "console:app_list": Page(params={"app_label": lambda w: "partnerhub"}),
}

# Console model pages follow one shape; the walk fills them from World.objects_by_model. Program-wide models
# (World.shared) are walked as Public: every vendor staff member may read them.
CONSOLE_OBJECT_SUFFIXES = ("change", "history", "delete")
CONSOLE_LIST_SUFFIXES = ("changelist", "add")
