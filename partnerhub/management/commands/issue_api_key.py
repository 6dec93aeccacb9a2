"""``manage.py issue_api_key USERNAME``: create an API key for a user and print it once.

Only a hash of the key is stored, so the printed key cannot be shown again; revoke it in the portal or the
console when it is no longer needed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from partnerhub import services
from partnerhub.auth_backends import user_may_sign_in
from partnerhub.errors import DomainError
from partnerhub.models import User


class Command(BaseCommand):
    help = "Create an API key for USERNAME (or e-mail address) and print it. The key is shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("username", help="The user the key acts for: username or e-mail address.")
        parser.add_argument("--name", default="Command-line key", help="What the key is for, e.g. 'CRM sync'.")
        parser.add_argument(
            "--days",
            type=int,
            default=90,
            help="Days until the key expires (1 to 366; default 90).",
        )

    def handle(self, *args, **options):
        identifier = options["username"].strip()
        try:
            user = User.objects.get_by_natural_key(identifier)
        except User.DoesNotExist:
            raise CommandError(f"No user with the username or e-mail “{identifier}”.") from None
        if not user.is_active:
            raise CommandError(f"The user “{user.username}” is deactivated; reactivate them before issuing a key.")
        try:
            # Issued from the command line by an operator: the audit trail records the system as the actor.
            row, key = services.api_token_create(
                actor=None, user=user, name=options["name"], expires_in_days=options["days"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        expiry = row.expiry.strftime("%Y-%m-%d %H:%M UTC") if row.expiry else "never"
        self.stderr.write(f"API key “{row.name}” for {user.username}, expires {expiry}. It is shown only once:")
        self.stdout.write(key)
        self.stderr.write(f"Use it as the header:  Authorization: Token {key[:12]}…")
        if not user_may_sign_in(user):
            self.stderr.write(
                self.style.WARNING("Warning: this user cannot sign in now (no active partner), so the key is refused.")
            )
