"""Support for the API fuzz test: the data the callers work on, their API keys, real ids for detail routes,
and running each generated request against the test database and rolling its effects back.

The fuzz test calls the WSGI application in-process, inside pytest-django's test transaction:

* Django's request signals close "old" database connections at the start and end of every request. Inside a
  test transaction that would close the test's own connection, so ``keep_test_connection`` detaches that
  handler for the duration of a test, as Django's own test client does.
* ``rolled_back`` runs one generated request in a savepoint and rolls it back, so a partner suspended, a
  membership deactivated or an API key revoked by one example is back for the next one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import strategies as st

from partnerhub import services
from partnerhub.choices import MembershipRole, PartnerStatus, PartnerType, StaffRole
from partnerhub.models import Membership
from tests.factories import make_member, make_partner, make_staff

# Who calls the API: a partner admin of a partner with data, vendor staff in partner operations (every partner,
# status changes, tiers) and a channel manager who manages that one partner only.
CALLERS = ("partner_admin", "partner_ops", "channel_manager")


@dataclass
class FuzzWorld:
    """Partners with people, invitations, tiers and keys; ``ids`` holds real ids per kind of detail route."""

    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list] = field(default_factory=dict)


def build_world() -> FuzzWorld:
    """Partner A (a reseller on a tier, under a distributor) with two admins, a rep and invitations in every
    state; partner B, which none of the partner callers may see; two tiers; and the callers with their keys."""
    world = FuzzWorld()
    gold = services.tier_create(actor=None, name="Fuzz Gold", rank=20, discount_percent="12.50")
    silver = services.tier_create(actor=None, name="Fuzz Silver", rank=10, min_annual_revenue="250000")
    distributor = make_partner("Northwind Fuzz Distribution", partner_type=PartnerType.DISTRIBUTOR, tier=gold)
    partner_a = make_partner("Acme Fuzz Resellers", tier=silver, parent=distributor)
    partner_b = make_partner("Bolt Fuzz Supply", status=PartnerStatus.ONBOARDING)

    admin = make_member(partner_a, MembershipRole.ADMIN, username="fuzz-admin", email="admin@acme-fuzz.example")
    make_member(partner_a, MembershipRole.ADMIN, username="fuzz-admin-2", email="admin2@acme-fuzz.example")
    make_member(partner_a, MembershipRole.REP, username="fuzz-rep", email="rep@acme-fuzz.example")
    admin_b = make_member(partner_b, MembershipRole.ADMIN, username="fuzz-admin-b", email="admin@bolt-fuzz.example")
    make_member(partner_b, MembershipRole.REP, username="fuzz-rep-b", email="rep@bolt-fuzz.example")
    make_member(distributor, MembershipRole.ADMIN, username="fuzz-admin-n", email="admin@northwind-fuzz.example")

    services.invitation_create(actor=admin, partner=partner_a, email="new.rep@acme-fuzz.example")
    revoked = services.invitation_create(actor=admin, partner=partner_a, email="gone@acme-fuzz.example")
    services.invitation_revoke(actor=admin, invitation=revoked)
    accepted = services.invitation_create(
        actor=admin, partner=partner_a, email="joined@acme-fuzz.example", role=MembershipRole.ADMIN
    )
    services.invitation_accept(token=services.invitation_token(accepted), password="correct-horse-battery-9")
    services.invitation_create(actor=admin_b, partner=partner_b, email="new.rep@bolt-fuzz.example")

    ops = make_staff(StaffRole.PARTNER_OPERATIONS, username="fuzz-ops")
    manager = make_staff(StaffRole.CHANNEL_MANAGER, manages=[partner_a], username="fuzz-cm")

    token_keys = []
    for caller, user in (("partner_admin", admin), ("partner_ops", ops), ("channel_manager", manager), (None, admin_b)):
        _, key = services.api_token_create(actor=user, user=user, name="Fuzz CRM sync")
        spare, _ = services.api_token_create(actor=user, user=user, name="Fuzz ERP export")
        token_keys.append(spare.token_key)
        if caller:
            world.keys[caller] = key

    partners = [partner_a, partner_b, distributor]
    world.ids = {
        "partners": [p.pk for p in partners],
        "tiers": [gold.pk, silver.pk],
        "memberships": list(Membership.objects.filter(partner__in=partners).values_list("pk", flat=True)),
        "invitations": list(partner_a.invitations.values_list("pk", flat=True))
        + list(partner_b.invitations.values_list("pk", flat=True)),
        "tokens": token_keys,
    }
    return world


# Real ids for detail routes ------------------------------------------------------------------------------------

_current: dict[str, FuzzWorld | None] = {"world": None}


def set_current_world(world: FuzzWorld | None) -> None:
    _current["world"] = world


def _resource_of(path: str) -> str | None:
    """``/api/v1/partners/{id}/brand/`` → ``partners``; ``/api/v1/me/tokens/{token_key}/`` → ``tokens``."""
    if "{token_key}" in path:
        return "tokens"
    parts = path.strip("/").split("/")
    if "{id}" in parts:
        return parts[parts.index("{id}") - 1]
    return None


def flatmap_path_parameters(context, path_parameters: dict) -> st.SearchStrategy:
    """Keep the generated id, or swap in a real one (in or out of the caller's scope), about half the time.

    Random integers almost never name a row, so without this every detail route would answer 404 and the
    serializers, permissions and services behind it would go untested.
    """
    world = _current["world"]
    resource = _resource_of(context.operation.path) if context.operation is not None else None
    real = world.ids.get(resource) if world is not None and resource else None
    name = "token_key" if resource == "tokens" else "id"
    if not real or name not in path_parameters:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters), st.sampled_from(real).map(lambda value: {**path_parameters, name: value})
    )


# Running requests in the test transaction ----------------------------------------------------------------------


@contextlib.contextmanager
def keep_test_connection() -> Iterator[None]:
    """Detach ``close_old_connections`` from the request signals (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint and always roll it back: each example starts from the same data."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)
