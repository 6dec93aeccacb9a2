"""Build a large vendor's data set in bulk: ``python manage.py seed_scale`` (10,000 partners, 100,000 users)."""

import time

from django.core.management.base import BaseCommand, CommandError

from partnerhub import scale


class Command(BaseCommand):
    help = "Create benchmark-scale data in bulk: partners, brands, grants, users, memberships and feature rows."

    def add_arguments(self, parser):
        parser.add_argument("--partners", type=int, default=10_000)
        parser.add_argument("--users-per-partner", type=int, default=10)
        parser.add_argument("--managers", type=int, default=100)
        parser.add_argument("--partners-per-manager", type=int, default=100)
        parser.add_argument(
            "--factor",
            type=float,
            default=None,
            help="Scale of feature rows relative to full size (default: partners / 10,000).",
        )
        parser.add_argument("--force", action="store_true", help="Add another batch even if scale data exists.")

    def handle(self, *args, partners, users_per_partner, managers, partners_per_manager, factor, force, **options):
        from partnerhub.models import Partner

        if partners < 1 or users_per_partner < 1:
            raise CommandError("--partners and --users-per-partner must be at least 1.")
        existing = Partner.objects.filter(slug__startswith=f"{scale.PREFIX}-").count()
        if existing and not force:
            self.stdout.write(f"Scale data already present ({existing} partners); use --force to add more.")
            return
        started = time.monotonic()
        self.stdout.write(f"Seeding {partners} partners × {users_per_partner} users…")
        context = scale.seed_core(
            partners=partners,
            users_per_partner=users_per_partner,
            managers=managers,
            partners_per_manager=partners_per_manager,
            log=self.stdout.write,
        )
        context.factor = factor if factor is not None else partners / 10_000
        for name, seeder in scale.seeders():
            step = time.monotonic()
            self.stdout.write(f"Seeding {name}…")
            seeder(context)
            self.stdout.write(f"  {name} seeded in {time.monotonic() - step:.1f}s")
        scale.analyze()
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f}s."))
