"""Which applications, jobs and duplicate matches vendor staff reach — one rule for the API and the console, the
same as the review pages (``onboarding/views.py``).

* Open and declined applications have no partner: every reviewer opens them. An approved application is part
  of its partner's record, so only staff who see that partner open it (``selectors.application_list`` alone
  would show a channel manager the application of a partner someone else manages).
* A job belongs to its partner (``selectors.job_list``). A job whose first step has not created the partner yet
  (or failed before it could) is reached through its application, by staff holding the job permission.
* A duplicate flag names a partner or an application; a reviewer who cannot open it sees the flag without its
  name or id, so a flag never reveals another channel manager's partner.

Everything starts from the onboarding selectors and the access layer; these functions only narrow.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from onboarding import selectors
from onboarding.models import PartnerApplication, ProvisioningJob
from partnerhub import access
from partnerhub.models import Partner


def reviewable_q(user) -> Q:
    """The condition that narrows applications to those ``user`` may open, on top of the model permission."""
    if access.sees_all_partners(user):
        return Q()
    return Q(partner__isnull=True) | Q(partner__in=Partner.objects.for_user(user).values("pk"))


def reviewable_applications(*, user) -> QuerySet[PartnerApplication]:
    """Applications ``user`` may open (vendor staff with the application view permission; see the module doc)."""
    return selectors.application_list(user=user)


def visible_jobs(*, user, action: str = "view") -> QuerySet[ProvisioningJob]:
    """Jobs ``user`` may perform ``action`` on (see the module doc)."""
    return selectors.job_list(user=user, action=action)


def flag_visibility(*, user, applications: Iterable[PartnerApplication]) -> tuple[set[int], set[int]]:
    """The partner ids and application ids named in these applications' duplicate flags that ``user`` may open
    (at most two queries, whatever the number of applications)."""
    partner_ids, application_ids = set(), set()
    for application in applications:
        for flag in application.duplicate_flags or []:
            (partner_ids if flag.get("object") == "partner" else application_ids).add(flag.get("id"))
    partners = (
        set(Partner.objects.for_user(user).filter(pk__in=partner_ids).values_list("pk", flat=True))
        if partner_ids
        else set()
    )
    others = (
        set(reviewable_applications(user=user).filter(pk__in=application_ids).values_list("pk", flat=True))
        if application_ids
        else set()
    )
    return partners, others


def visible_flags(application: PartnerApplication, visibility: tuple[set[int], set[int]]) -> list[dict]:
    """The application's duplicate flags, each with ``visible``; a hidden match loses its name and id."""
    partners, others = visibility
    flags = []
    for flag in application.duplicate_flags or []:
        is_partner = flag.get("object") == "partner"
        visible = flag.get("id") in (partners if is_partner else others)
        flags.append(
            {
                "kind": flag.get("kind", ""),
                "object": "partner" if is_partner else "application",
                "id": flag.get("id") if visible else None,
                "label": flag.get("label", "") if visible else "",
                "detail": flag.get("detail", ""),
                "visible": visible,
            }
        )
    return flags
