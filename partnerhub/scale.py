"""Bulk generation of a large vendor's data for benchmarks (``manage.py seed_scale``).

The core seeds partners, brands, groups, grants, users and memberships with ``bulk_create``; feature apps
register their own seeders with ``register_seeder`` from ``AppConfig.ready()`` so that the data set grows
with the product (deals, tickets, assets...). Seeders receive a ``ScaleContext`` describing what exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils import timezone

from partnerhub.choices import MembershipRole, PartnerStatus, PartnerType, StaffRole

PREFIX = "scale"
PASSWORD = "scale-demo-password"  # noqa: S105 (benchmark data, documented in docs/PERFORMANCE.md)


@dataclass
class ScaleContext:
    """What the core created; feature seeders size their rows from it."""

    partner_ids: list[int]
    admin_user_ids: dict[int, int]  # partner id -> one admin's user id
    rep_user_ids: dict[int, list[int]]  # partner id -> rep user ids
    manager_ids: list[int]
    factor: float = 1.0  # 1.0 = full scale; tests use small fractions
    log: Callable[[str], None] = print
    extra: dict = field(default_factory=dict)


Seeder = Callable[[ScaleContext], None]
_SEEDERS: list[tuple[str, Seeder]] = []


def register_seeder(name: str, seeder: Seeder) -> None:
    """Add a feature's bulk seeder; it runs after the core, in registration order."""
    if name not in {n for n, _ in _SEEDERS}:
        _SEEDERS.append((name, seeder))


def seeders() -> list[tuple[str, Seeder]]:
    return list(_SEEDERS)


def _bulk(model, rows, batch_size=5000):
    return model.objects.bulk_create(rows, batch_size=batch_size)


@contextmanager
def own_timestamps(*models) -> Iterator[None]:
    """Let ``bulk_create`` keep the timestamps a seeder sets (a year of history) instead of ``auto_now``'s.

    Django fills ``auto_now``/``auto_now_add`` fields in ``pre_save`` even in ``bulk_create``; the flags are
    switched off for the duration of the block and restored afterwards, so every timestamp must be set.
    """
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def long_tail(total: int, keys: list, *, exponent: float = 0.6) -> dict:
    """Split ``total`` rows over ``keys`` with a long tail: the first keys get the most, every key at least
    its share rounded down (so small totals leave the tail empty). Deterministic."""
    if not keys or total <= 0:
        return dict.fromkeys(keys, 0)
    weights = [(i + 1) ** -exponent for i in range(len(keys))]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return dict(zip(keys, counts, strict=True))


PALETTE = ["#1f4fd1", "#c2410c", "#0f766e", "#7c3aed", "#be123c", "#15803d", "#0369a1", "#a16207", "#334155"]
TYPES = [PartnerType.RESELLER] * 6 + [PartnerType.DISTRIBUTOR, PartnerType.REFERRAL, PartnerType.SUPPLIER]


def seed_core(
    *,
    partners: int,
    users_per_partner: int,
    managers: int,
    partners_per_manager: int,
    log: Callable[[str], None] = print,
) -> ScaleContext:
    """Create ``partners`` partners with ``users_per_partner`` members each (one admin) in bulk."""
    from partnerhub import roles
    from partnerhub.models import (
        Membership,
        Partner,
        PartnerBrand,
        PartnerGroupObjectPermission,
        PartnerUserObjectPermission,
        Tier,
        User,
    )

    started = time.monotonic()
    tiers = list(Tier.objects.order_by("rank"))
    if not tiers:
        tiers = _bulk(
            Tier,
            [
                Tier(name=name, slug=name.lower(), rank=rank, benefits="Deal registration")
                for rank, name in enumerate(["Registered", "Silver", "Gold", "Platinum"], start=1)
            ],
        )
    now = timezone.now()
    perms = {
        p.codename: p.pk
        for p in Permission.objects.filter(
            content_type__app_label="partnerhub",
            codename__in=["access_partner", "administer_partner", "manage_partner"],
        )
    }
    start = Partner.objects.filter(slug__startswith=f"{PREFIX}-").count()
    slugs = [f"{PREFIX}-{i:06d}" for i in range(start, start + partners)]

    with transaction.atomic():
        groups = _bulk(Group, [Group(name=f"partner:{s}:{kind}") for s in slugs for kind in ("members", "admins")])
        by_name = {g.name: g for g in groups}
        partner_rows = []
        for i, slug in enumerate(slugs):
            n = start + i
            partner_rows.append(
                Partner(
                    name=f"Scale Partner {n:06d}",
                    slug=slug,
                    partner_type=TYPES[n % len(TYPES)],
                    status=PartnerStatus.ACTIVE if n % 20 else PartnerStatus.ONBOARDING,
                    status_changed_at=now,
                    tier=tiers[n % len(tiers)],
                    country=["US", "DE", "FR", "GB", "JP", "BR"][n % 6],
                    members_group=by_name[f"partner:{slug}:members"],
                    admins_group=by_name[f"partner:{slug}:admins"],
                )
            )
        created = _bulk(Partner, partner_rows)
        log(f"  partners: {len(created)}")
        _bulk(
            PartnerBrand,
            [
                PartnerBrand(
                    partner=p,
                    display_name=p.name,
                    subdomain=p.slug,
                    primary_color=PALETTE[p.pk % 9],
                    accent_color=PALETTE[(p.pk + 3) % 9],
                )
                for p in created
            ],
        )
        grants = []
        for p in created:
            grants.append(
                PartnerGroupObjectPermission(
                    group_id=p.members_group_id, content_object=p, permission_id=perms["access_partner"]
                )
            )
            grants.append(
                PartnerGroupObjectPermission(
                    group_id=p.admins_group_id, content_object=p, permission_id=perms["access_partner"]
                )
            )
            grants.append(
                PartnerGroupObjectPermission(
                    group_id=p.admins_group_id, content_object=p, permission_id=perms["administer_partner"]
                )
            )
        _bulk(PartnerGroupObjectPermission, grants)

        password = make_password(PASSWORD)
        user_rows = []
        for p in created:
            for j in range(users_per_partner):
                username = f"{p.slug}-u{j:03d}"
                user_rows.append(
                    User(
                        username=username,
                        email=f"{username}@scale.example",
                        password=password,
                        first_name="Scale",
                        last_name=f"User {j:03d}",
                    )
                )
        users = _bulk(User, user_rows)
        log(f"  partner users: {len(users)}")
        memberships, user_groups = [], []
        admin_ids: dict[int, int] = {}
        rep_ids: dict[int, list[int]] = {}
        through = User.groups.through
        for index, user in enumerate(users):
            partner = created[index // users_per_partner]
            is_admin = index % users_per_partner == 0
            role = MembershipRole.ADMIN if is_admin else MembershipRole.REP
            memberships.append(Membership(partner=partner, user=user, role=role, created_at=now))
            user_groups.append(through(user_id=user.pk, group_id=partner.members_group_id))
            if is_admin:
                user_groups.append(through(user_id=user.pk, group_id=partner.admins_group_id))
                admin_ids[partner.pk] = user.pk
            else:
                rep_ids.setdefault(partner.pk, []).append(user.pk)
        _bulk(Membership, memberships)
        _bulk(through, user_groups)

        manager_group = roles.staff_group(StaffRole.CHANNEL_MANAGER)
        manager_rows = [
            User(
                username=f"{PREFIX}-cm-{start}-{k:04d}",
                email=f"{PREFIX}-cm-{start}-{k:04d}@vendor.example",
                password=password,
                is_staff=True,
                first_name="Channel",
                last_name=f"Manager {k:04d}",
            )
            for k in range(managers)
        ]
        manager_users = _bulk(User, manager_rows)
        _bulk(through, [through(user_id=m.pk, group_id=manager_group.pk) for m in manager_users])
        assignments = []
        for k, manager in enumerate(manager_users):
            for p in created[k * partners_per_manager : (k + 1) * partners_per_manager]:
                assignments.append(
                    PartnerUserObjectPermission(user=manager, content_object=p, permission_id=perms["manage_partner"])
                )
        _bulk(PartnerUserObjectPermission, assignments)
        log(f"  channel managers: {len(manager_users)} with {len(assignments)} partner grants")

    log(f"  core seeded in {time.monotonic() - started:.1f}s")
    return ScaleContext(
        partner_ids=[p.pk for p in created],
        admin_user_ids=admin_ids,
        rep_user_ids=rep_ids,
        manager_ids=[m.pk for m in manager_users],
        log=log,
    )


def analyze() -> None:
    """Refresh planner statistics after a bulk load, as production autovacuum would."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
