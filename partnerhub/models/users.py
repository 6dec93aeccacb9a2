from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class PartnerHubUserManager(UserManager):
    def get_by_natural_key(self, username):
        # Sign-in accepts the username or the e-mail address, case-insensitively.
        if "@" in (username or ""):
            return self.get(email__iexact=username)
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person who signs in: vendor staff (``is_staff``) or a member of one or more partners.

    Partner users never hold global model permissions: what they may see comes from their partners' groups.
    """

    email = models.EmailField("email address", unique=True)

    objects = PartnerHubUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        if not parts:
            parts = [self.username]
        return "".join(p[0] for p in parts[:2]).upper()
