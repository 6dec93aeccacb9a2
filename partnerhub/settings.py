"""PartnerHub settings: one module, every value read from the environment with a safe default.

Production differs only by environment. Setting ``PARTNERHUB_ENV=production`` turns on the production
profile, which refuses to start without ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``DATABASE_URL`` and enables
every transport-security setting that ``manage.py check --deploy`` asks for.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from environs import Env

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()
env.read_env(str(BASE_DIR / ".env"), recurse=False)

# The test suite runs under pytest; anything else defaults to development.
PARTNERHUB_ENV = env.str("PARTNERHUB_ENV", "test" if "pytest" in sys.modules else "development")
TESTING = PARTNERHUB_ENV == "test"
if PARTNERHUB_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured("PARTNERHUB_ENV must be one of: development, production, test.")
PRODUCTION = PARTNERHUB_ENV == "production"

if PRODUCTION:
    _missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not env.str(name, "")]
    if _missing:
        raise ImproperlyConfigured(
            "Production mode (PARTNERHUB_ENV=production) needs these environment variables: " + ", ".join(_missing)
        )

# A fixed development key keeps sessions across restarts of `make run`; production must bring its own.
SECRET_KEY = env.str("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", [])
DEBUG = env.bool("DEBUG", not PRODUCTION and PARTNERHUB_ENV != "test")

# Partner portals live on <subdomain>.<PORTAL_BASE_DOMAIN>; `*.localhost` resolves to loopback in browsers.
PORTAL_BASE_DOMAIN = env.str("PORTAL_BASE_DOMAIN", "localhost").lower().strip(".")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", f".{PORTAL_BASE_DOMAIN}", "testserver"])
# Verified partner custom domains are accepted in addition to ALLOWED_HOSTS (see PartnerHostMiddleware).
PARTNERHUB_CUSTOM_DOMAINS = env.bool("PARTNERHUB_CUSTOM_DOMAINS", False)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "partnerhub",
    "onboarding",
    "support",
    "comarketing",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (works offline, CSP 'self')
    "drf_standardized_errors",
    "guardian",
    "axes",
    "django_htmx",
    "csp",
    "django_celery_beat",
]

MIDDLEWARE = [
    "partnerhub.middleware.PartnerHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "partnerhub.middleware.ActivePartnerMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

if PRODUCTION:
    # Production serves static files itself (compressed, cache-busted); development uses runserver's handler.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

# Benchmark mode (make bench): SQL query counts in response headers and the bare "ceiling" endpoints under
# /api/bench/ (partnerhub/bench.py). Never set it on a server that others can reach.
PARTNERHUB_BENCH = env.bool("PARTNERHUB_BENCH", False)
if PARTNERHUB_BENCH:
    MIDDLEWARE.insert(0, "partnerhub.bench.QueryCountMiddleware")

# knox's own token table is replaced by partnerhub.ApiToken; skipping its migrations keeps the unused table
# (and its foreign key to users) out of the database.
MIGRATION_MODULES = {"knox": None}

ROOT_URLCONF = "partnerhub.urls"
WSGI_APPLICATION = "partnerhub.wsgi.application"
AUTH_USER_MODEL = "partnerhub.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "partnerhub.context_processors.portal",
            ],
            "builtins": [
                "partnerhub.templatetags.partials",
                "partnerhub.templatetags.urls",
                "partnerhub.templatetags.dates",
            ],
        },
    }
]

# Database: DATABASE_URL, defaulting to the local PostgreSQL server. `make run` points it at an embedded server.
DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/partnerhub",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60),
    )
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set (shared throttle counters, host lookups), else process-local memory.
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6379/15" if TESTING else "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.str("CACHE_URL", REDIS_URL),
            # Parallel test workers share one Redis; each keeps its own keys.
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", "partnerhub") + os.environ.get("PYTEST_XDIST_WORKER", ""),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "partnerhub"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "partnerhub.auth_backends.PartnerAwareModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Tests create thousands of users; the hash cost is not what they measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24)
INVITATION_MAX_AGE = timedelta(days=env.int("INVITATION_MAX_AGE_DAYS", 7))

# Sessions and CSRF: host-only cookies, so a session never crosses from one partner's domain to another's.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 60 * 60 * 8)
# With a shared cache (Redis) a session is read from it and written through to the database, which saves a query
# on every page. A process-local cache would let one worker keep a session that another has ended.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if REDIS_URL else "db")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "partnerhub.views.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
    # Preloading is an opt-in commitment for the whole domain, so its absence is a choice, not a warning.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Content Security Policy: no inline script; brand colours reach CSS through a nonce'd <style> block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Brute-force protection: lock a username from an address after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", 0) or None
AXES_VERBOSE = False

# Email: printed to the console by default; SMTP when EMAIL_URL is set, e.g. submission://user:pass@host:587
# (STARTTLS) or smtp://host:25. file:// writes each message to EMAIL_FILE_PATH.
_email = env.dj_email_url("EMAIL_URL", "console://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", str(BASE_DIR / ".run" / "mail"))
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "PartnerHub <no-reply@partnerhub.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
LOGO_MAX_BYTES = env.int("LOGO_MAX_BYTES", 2 * 1024 * 1024)
LOGO_MAX_PIXELS = 4096 * 4096

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partnerhub.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the interactive documentation lives at /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "partnerhub.api.pagination.StableCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    # drf-standardized-errors' AutoSchema, widened to our wrapping exception handler (documents every 4xx).
    "DEFAULT_SCHEMA_CLASS": "partnerhub.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "partnerhub.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", "100000/min" if TESTING else "60/min"),
        "user": env.str("API_THROTTLE_USER", "100000/min" if TESTING else "1200/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", 0) or None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
DRF_STANDARDIZED_ERRORS = {"ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True}
SPECTACULAR_SETTINGS = {
    "TITLE": "PartnerHub API",
    "DESCRIPTION": (
        "Partner relationship management API. Authenticate with `Authorization: Token <key>` "
        "(create keys in the portal under API keys, or `manage.py issue_api_key USERNAME`). "
        "Every list is scoped to the partners the caller may act for; another partner's object answers 404."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        # Onboarding enums whose field names ("status", "partner_type") the core also uses.
        "PartnerStatusEnum": "partnerhub.choices.PartnerStatus",
        "PartnerTypeEnum": "partnerhub.choices.PartnerType",
        "ApplicationStatusEnum": "onboarding.choices.ApplicationStatus",
        "ApplicantPartnerTypeEnum": "onboarding.api.serializers.APPLICANT_PARTNER_TYPES",
        # Support enums whose field names ("status", "audience", "scope") other resources also use.
        "TicketStatusEnum": "support.choices.TicketStatus",
        "TicketStatusChangeEnum": "support.api.serializers.STATUS_CHANGES",
        "ArticleStatusEnum": "support.choices.ArticleStatus",
        "ArticleAudienceEnum": "support.choices.ArticleAudience",
        "VendorArticleAudienceEnum": "support.api.serializers.VENDOR_AUDIENCES",
        "SlaScopeEnum": "support.api.serializers.SLA_SCOPES",
        # Co-marketing enums whose field names ("kind", "status", "state") other resources also use.
        "AssetKindEnum": "comarketing.choices.AssetKind",
        "LedgerKindEnum": "comarketing.choices.LedgerKind",
        "FundRequestStatusEnum": "comarketing.choices.RequestStatus",
        "RenderStateEnum": "comarketing.choices.RenderState",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "partnerhub.api.schema.list_item_error_attrs",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
REST_KNOX = {
    "TOKEN_MODEL": "partnerhub.ApiToken",
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", 90)),
    "TOKEN_PREFIX": "ph_",
    "AUTO_REFRESH": False,
}
KNOX_TOKEN_MODEL = "partnerhub.ApiToken"  # noqa: S105 (a model label, not a secret)

# django-guardian: direct foreign-key permission models carry the grants; no anonymous user object.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

# Celery: Redis when REDIS_URL is set; otherwise a broker-free filesystem transport that a real worker reads.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
_celery_dir = Path(env.str("CELERY_FILESYSTEM_DIR", str(BASE_DIR / ".run" / "celery")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        # Exchange bindings (fanout for worker remote control); the default would be ./control in the cwd.
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis hands an unacknowledged task (its worker was killed) to another worker after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Tests run tasks in-process unless a test starts a real worker (those set CELERY_TASK_ALWAYS_EAGER=false).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", "partnerhub")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Re-enqueue provisioning jobs and webhook deliveries whose enqueue was lost (e.g. a cold shutdown).
    "onboarding-reconcile-stuck-work": {"task": "onboarding.tasks.reconcile_stuck_work", "schedule": 300.0},
    # SLA warnings and breaches are recorded within a minute of being due.
    "support-check-sla": {"task": "support.tasks.check_sla", "schedule": 60.0},
    "support-daily-digests": {"task": "support.tasks.send_support_digests", "schedule": crontab(hour=7, minute=0)},
    "comarketing-mdf-reminders": {
        "task": "comarketing.tasks.send_mdf_reminders",
        "schedule": crontab(hour=6, minute=0),
    },
    "comarketing-expired-assets": {
        "task": "comarketing.tasks.flag_expired_assets",
        "schedule": crontab(hour=6, minute=30),
    },
}

# Extra provisioning step modules, imported at start-up (comma-separated dotted paths).
PROVISIONING_STEP_MODULES = env.list("PROVISIONING_STEP_MODULES", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}
