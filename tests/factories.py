"""factory_boy factories. Partners and memberships are built through the services, as in production."""

from __future__ import annotations

import factory

from partnerhub import services
from partnerhub.choices import MembershipRole, PartnerStatus, PartnerType, StaffRole
from partnerhub.models import Partner, Tier, User

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"Tier {n}")
    slug = factory.Sequence(lambda n: f"tier-{n}")
    rank = factory.Sequence(lambda n: n + 1)
    benefits = "Deal registration\nMarket development funds"


def make_partner(
    name: str | None = None, *, status: str = PartnerStatus.ACTIVE, partner_type: str = PartnerType.RESELLER, **kwargs
) -> Partner:
    name = name or f"Partner {factory.Faker('company').evaluate(None, None, {'locale': None})}"
    return services.partner_create(actor=None, name=name, partner_type=partner_type, status=status, **kwargs)


def make_member(partner: Partner, role: str = MembershipRole.REP, **user_kwargs) -> User:
    user = UserFactory(**user_kwargs)
    services.membership_add(actor=None, partner=partner, user=user, role=role)
    return user


def make_staff(role: str | None = StaffRole.CHANNEL_MANAGER, *, manages: list[Partner] = (), **user_kwargs) -> User:
    user = UserFactory(is_staff=True, **user_kwargs)
    if role:
        services.staff_roles_set(actor=None, user=user, role_values=[role])
    for partner in manages:
        services.channel_manager_assign(actor=None, partner=partner, manager=user)
    return User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache
