"""Extension points of the partner portal's home page: next steps and home panels.

Feature apps add to the home page without the core importing them. From their ``AppConfig.ready()``::

    from partnerhub import portal

    @portal.register_next_step
    def register_first_deal(request, partner):
        if not portal.is_partner_admin(request):
            return []
        return [portal.NextStep(key="deals.first", title="Register your first deal", ...)]

    @portal.register_home_panel
    def open_tickets(request, partner):
        return [portal.HomePanel(key="support.tickets", title="Open tickets", template="support/_home.html",
                                 context={"tickets": ...})]

Providers receive the request and the active partner (already checked by the portal) and must read
through selectors, like any view. A provider that raises is logged and skipped, so one broken feature
cannot take the whole home page down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NextStep:
    """One suggestion on the home page ("Upload your logo"). ``done`` steps are shown ticked off."""

    key: str
    title: str
    description: str
    url: str
    action_label: str
    done: bool = False
    order: int = 100


@dataclass(frozen=True)
class HomePanel:
    """A card on the home page, rendered from ``template`` with ``panel`` (this object) in its context."""

    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


NextStepProvider = Callable[[Any, Any], list[NextStep]]
HomePanelProvider = Callable[[Any, Any], list[HomePanel]]

_next_step_providers: list[NextStepProvider] = []
_home_panel_providers: list[HomePanelProvider] = []


def register_next_step(provider: NextStepProvider) -> NextStepProvider:
    """Add a provider of next steps (``provider(request, partner) -> list[NextStep]``). Usable as a decorator."""
    if provider not in _next_step_providers:
        _next_step_providers.append(provider)
    return provider


def register_home_panel(provider: HomePanelProvider) -> HomePanelProvider:
    """Add a provider of home panels (``provider(request, partner) -> list[HomePanel]``). Usable as a decorator."""
    if provider not in _home_panel_providers:
        _home_panel_providers.append(provider)
    return provider


GateProvider = Callable[[Any, Any], Any]
_gates: list[GateProvider] = []


def register_gate(gate: GateProvider) -> GateProvider:
    """Add a gate in front of every portal page: ``gate(request, partner)`` returns a response to show instead
    of the page (e.g. "accept the new program agreement first"), or None to let the request through.

    Views decorated with ``portal_view(gated=False)`` (the gate's own pages, sign-out) are never gated.
    """
    if gate not in _gates:
        _gates.append(gate)
    return gate


PartnerAnnotation = Callable[[], Any]
_partner_annotations: dict[str, PartnerAnnotation] = {}


def register_partner_annotation(name: str, expression: PartnerAnnotation) -> None:
    """Read ``expression()`` (a query expression on the partner) with the user's partners on every portal
    request, as ``partner.<name>``: a gate that needs one fact about the active partner gets it from the query
    that already reads the partner, instead of a query of its own. The gate must still work without it (a
    partner read elsewhere has no such attribute)."""
    _partner_annotations[name] = expression


def partner_annotations() -> dict[str, Any]:
    """The registered partner annotations, as keyword arguments for ``QuerySet.annotate``."""
    return {name: expression() for name, expression in _partner_annotations.items()}


def gate_response(request, partner):
    """The first gate's response for this request, or None. A gate that raises is logged and skipped."""
    for gate in list(_gates):
        try:
            response = gate(request, partner)
        except Exception:
            logger.exception("Portal gate %r failed; it is skipped.", gate)
            continue
        if response is not None:
            return response
    return None


def unregister(provider: Callable) -> None:
    """Remove a provider (tests, or an app that replaces a core suggestion with its own)."""
    for registry in (_next_step_providers, _home_panel_providers, _gates):
        if provider in registry:
            registry.remove(provider)
    for name, expression in list(_partner_annotations.items()):
        if expression is provider:
            del _partner_annotations[name]


def _collect(providers: list[Callable], request, partner) -> list:
    items: dict[str, Any] = {}
    for provider in list(providers):
        try:
            produced = provider(request, partner) or []
        except Exception:
            logger.exception("Portal home provider %r failed; its items are left out.", provider)
            continue
        for item in produced:
            items.setdefault(item.key, item)  # first registration of a key wins
    return sorted(items.values(), key=lambda item: (item.order, item.key))


def next_steps(request, partner) -> list[NextStep]:
    """Every registered next step for this partner, open ones first, then in ``order``."""
    steps = _collect(_next_step_providers, request, partner)
    return sorted(steps, key=lambda step: step.done)


def home_panels(request, partner) -> list[HomePanel]:
    return _collect(_home_panel_providers, request, partner)


def is_partner_admin(request) -> bool:
    """Whether the signed-in user administers the active partner (asked once per request).

    The active partner normally comes from ``selectors.user_partners``, which read the answer with it for this
    user in the same query (``user_administers``, which ``access.can`` uses); otherwise it is one query.
    """
    cached = getattr(request, "_partnerhub_is_partner_admin", None)
    if cached is None:
        from partnerhub import access

        partner = getattr(request, "partner", None)
        cached = partner is not None and access.can(request.user, "change", partner)
        request._partnerhub_is_partner_admin = cached
    return cached


# The core's own next steps -------------------------------------------------------------------------------------


@register_next_step
def core_next_steps(request, partner) -> list[NextStep]:
    """Set up the partner's portal: logo, team, API key, support contacts (for partner admins)."""
    if not is_partner_admin(request):
        return []
    from partnerhub import selectors

    brand = partner.brand
    team_size = selectors.partner_team(user=request.user, partner=partner, people_only=True).count()
    has_key = selectors.api_tokens_of(user=request.user).exists()
    return [
        NextStep(
            key="core.logo",
            title="Upload your logo",
            description="Your logo appears on your sign-in page, in the portal header and in invitations.",
            url=reverse("portal:settings_brand") + "#logo",
            action_label="Upload logo",
            done=bool(brand.logo),
            order=10,
        ),
        NextStep(
            key="core.team",
            title="Invite your team",
            description="Bring in the reps who register deals and answer tickets, and a second admin as backup.",
            url=reverse("portal:team") + "#invite",
            action_label="Invite people",
            done=team_size > 1,
            order=20,
        ),
        NextStep(
            key="core.support_contacts",
            title="Set your support contacts",
            description="Tell your customers where to reach your first-line support team.",
            url=reverse("portal:settings_brand") + "#support",
            action_label="Add contacts",
            done=bool(brand.support_email or brand.support_phone),
            order=30,
        ),
        NextStep(
            key="core.api_key",
            title="Connect your CRM",
            description="Create an API key to sync deals, tickets and contacts with your own systems.",
            url=reverse("portal:api_keys"),
            action_label="Create API key",
            done=has_key,
            order=40,
        ),
    ]
