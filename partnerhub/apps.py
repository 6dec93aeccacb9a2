from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PartnerHubConfig(AppConfig):
    name = "partnerhub"
    verbose_name = "Partners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from partnerhub import roles

        # Groups and their model permissions are configuration derived from code; keep them in step after
        # every migrate (permissions themselves are created by Django's own post_migrate handler first).
        post_migrate.connect(roles.sync_staff_groups, dispatch_uid="partnerhub.sync_staff_groups")
