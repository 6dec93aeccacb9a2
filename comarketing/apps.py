from django.apps import AppConfig


class ComarketingConfig(AppConfig):
    name = "comarketing"
    verbose_name = "Co-marketing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from comarketing import demo, hooks  # noqa: F401  (demo registers its seed_demo part)

        hooks.connect()

        from comarketing import scale
        from partnerhub.scale import register_seeder

        register_seeder("comarketing", scale.seed)
