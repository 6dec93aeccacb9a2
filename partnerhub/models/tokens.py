from django.db import models
from knox.models import AbstractAuthToken


class ApiToken(AbstractAuthToken):
    """An integrator API key. Only a hash is stored; the key itself is shown once when created.

    A key acts for its user and is scoped exactly like that user.
    """

    name = models.CharField(max_length=80, default="API key")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"
