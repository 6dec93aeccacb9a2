from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = "Onboarding"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from onboarding import demo, hooks, steps  # noqa: F401  (registers provisioning steps and demo data)

        hooks.connect()
        _grant_staff_permissions()
        # Deployments (and tests) can plug in extra provisioning steps without code changes here.
        from importlib import import_module

        from django.conf import settings

        for module in getattr(settings, "PROVISIONING_STEP_MODULES", []):
            import_module(module)


def _grant_staff_permissions() -> None:
    from partnerhub import roles
    from partnerhub.choices import StaffRole

    def crud(model, *actions):
        return [f"onboarding.{action}_{model}" for action in actions or ("view", "add", "change", "delete")]

    roles.grant(
        StaffRole.CHANNEL_MANAGER,
        [
            *crud("partnerapplication", "view", "change"),
            "onboarding.review_partnerapplication",
            *crud("provisioningjob", "view", "change"),
            "onboarding.retry_provisioningjob",
            *crud("checklistitem", "view", "change"),
            *crud("agreementacceptance", "view"),
            *crud("agreement", "view"),
            *crud("partnerdocument", "view"),
        ],
    )
    roles.grant(
        StaffRole.PARTNER_OPERATIONS,
        [
            *crud("partnerapplication"),
            "onboarding.review_partnerapplication",
            *crud("provisioningjob", "view", "change"),
            "onboarding.retry_provisioningjob",
            *crud("checklistitem"),
            *crud("checklisttemplate"),
            *crud("checklisttemplateitem"),
            *crud("agreement", "view", "add"),
            *crud("agreementacceptance", "view"),
            *crud("partnerdocument", "view"),
            *crud("webhookendpoint"),
            *crud("webhookdelivery", "view"),
            *crud("webhookattempt", "view"),
        ],
    )
