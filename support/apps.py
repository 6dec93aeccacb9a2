from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from support import demo, hooks  # noqa: F401  (demo registers its seed_demo part)

        hooks.connect()

        from partnerhub.scale import register_seeder
        from support import scale

        register_seeder("support", scale.seed)
