from django.conf import settings
from django.db import models

from partnerhub.choices import AuditAction


class AuditEvent(models.Model):
    """An append-only record of a change to access, roles, status or money.

    ``partner`` is set when the change concerns one partner, so channel managers see the trail of their
    partners only. ``changes`` holds ``{"field": [before, after]}``.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted, kept if the user is deleted.")
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    partner = models.ForeignKey(
        "partnerhub.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner", "-created_at"]), models.Index(fields=["action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.target_label}"
