"""Vendor staff roles as auth groups holding model permissions.

The core declares its own permissions here; feature apps add theirs with ``grant`` from their
``AppConfig.ready()``. ``sync_staff_groups`` (run after every migrate) makes the groups match.
Partner users are never put in these groups: their access comes from their partner's groups.
"""

from __future__ import annotations

from collections import defaultdict

from partnerhub.choices import StaffRole

_PERMISSIONS: dict[str, set[str]] = defaultdict(set)

GROUP_NAMES = {role.value: f"Vendor: {role.label}" for role in StaffRole}


def grant(role: str, permissions: list[str] | set[str]) -> None:
    """Declare that vendor staff in ``role`` hold these global model permissions (``app.codename``)."""
    _PERMISSIONS[role].update(permissions)


def permissions_for(role: str) -> set[str]:
    return set(_PERMISSIONS[role])


def _crud(model: str, *actions: str) -> list[str]:
    return [f"partnerhub.{action}_{model}" for action in actions or ("view", "add", "change", "delete")]


grant(
    StaffRole.CHANNEL_MANAGER,
    [
        *_crud("partner", "view", "change"),
        "partnerhub.change_partner_status",
        *_crud("partnerbrand", "view", "change"),
        *_crud("membership", "view", "add", "change"),
        *_crud("invitation"),
        *_crud("tier", "view"),
        *_crud("auditevent", "view"),
    ],
)
grant(
    StaffRole.PARTNER_OPERATIONS,
    [
        *_crud("partner"),
        "partnerhub.view_all_partners",
        "partnerhub.assign_channel_managers",
        "partnerhub.change_partner_status",
        *_crud("partnerbrand"),
        *_crud("membership"),
        *_crud("invitation"),
        *_crud("tier"),
        *_crud("auditevent", "view"),
        *_crud("user", "view", "change"),
    ],
)
grant(
    StaffRole.MARKETING_MANAGER,
    [*_crud("partner", "view"), "partnerhub.view_all_partners", *_crud("tier", "view"), *_crud("partnerbrand", "view")],
)
grant(
    StaffRole.SUPPORT_AGENT,
    [
        *_crud("partner", "view"),
        "partnerhub.view_all_partners",
        *_crud("membership", "view"),
        *_crud("tier", "view"),
        *_crud("partnerbrand", "view"),
    ],
)


def sync_staff_groups(**_kwargs) -> None:
    """Create the staff groups and set their permissions to exactly what the roles declare."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    for role, name in GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = _PERMISSIONS[role]
        query = Q()
        for perm in wanted:
            app_label, codename = perm.split(".", 1)
            query |= Q(content_type__app_label=app_label, codename=codename)
        perms = list(Permission.objects.filter(query)) if wanted else []
        group.permissions.set(perms)


def staff_group(role: str):
    from django.contrib.auth.models import Group

    return Group.objects.get_or_create(name=GROUP_NAMES[role])[0]
