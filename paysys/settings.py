"""paysys settings: every value comes from the environment, read here and nowhere else.

PostgreSQL is the only database. Unset, the project runs embedded (the PostgreSQL server that
`make run` starts under ``var/postgres/``, Celery's filesystem transport under ``var/``, an
in-process cache), so ``make run`` works on a bare machine. With ``DATABASE_URL``, ``REDIS_URL``
and ``CELERY_BROKER_URL`` set it runs on a real PostgreSQL, Redis and broker.
"""

from datetime import timedelta
from pathlib import Path

import environ

from paysys.ops import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Embedded mode keeps its PostgreSQL data and broker folders here; a test may point it elsewhere.
VAR_DIR = Path(env.str("PAYSYS_VAR_DIR", default=str(BASE_DIR / "var")))

PAYSYS_ENV = env.str("PAYSYS_ENV", default="development")
# The port `make run` serves on (the Procfile's web process); seed_demo prints URLs with it.
PAYSYS_PORT = env.int("PAYSYS_PORT", default=8000)
if PAYSYS_ENV not in {"development", "test", "production"}:
    raise environ.ImproperlyConfigured(
        f"PAYSYS_ENV must be development, test or production, not {PAYSYS_ENV!r}"
    )
PRODUCTION = PAYSYS_ENV == "production"

# Known to everyone who reads this file: fine on a laptop, refused in production.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production"  # noqa: S105
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else DEVELOPMENT_SECRET_KEY)
if PRODUCTION and DEBUG:
    raise environ.ImproperlyConfigured(
        "DEBUG must be off in production: debug pages would show settings, SQL and stack traces"
    )


def _production_key_required(name: str, value: str, purpose: str) -> None:
    if PRODUCTION and value.strip() in {"", DEVELOPMENT_SECRET_KEY}:
        raise environ.ImproperlyConfigured(
            f"{name} must be a strong random value in production, not empty and not the "
            f"development key: {purpose}"
        )


_production_key_required(
    "SECRET_KEY",
    SECRET_KEY,
    "it signs sessions and derives the keys of API-key hashes and of the encryption at rest",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "paysys.operators.apps.OperatorsAdminConfig",  # django.contrib.admin, with the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from /static/: /v1/docs/ works offline
    "djmoney",
    "simple_history",
    "rangefilter",
    "django_celery_beat",
    "django_prometheus",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "paysys.audit",
    "paysys.events",
    "paysys.idempotency",
    "paysys.ops",
    "paysys.operators",
    "accounts",
    "merchants",
    "payments",
    "settlements",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "paysys.correlation.RequestIdMiddleware",
    "paysys.api.errors.ErrorShapeMiddleware",
    "paysys.logging.AccessLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "paysys.audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "paysys.urls"
WSGI_APPLICATION = "paysys.wsgi.application"

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
                "paysys.ops.context_processors.environment",
            ],
            # The admin's template tags (paysys.admin is not an app of its own).
            "libraries": {"paysys_admin": "paysys.admin.templatetags.paysys_admin"},
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
# With no DATABASE_URL: the embedded PostgreSQL that `make run` starts on this folder
# (paysys/ops/embedded_db.py). Production never falls back to it.
PAYSYS_EMBEDDED_POSTGRES_DIR = None if DATABASE_URL else VAR_DIR / "postgres"
if DATABASE_URL:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
elif PRODUCTION:
    raise environ.ImproperlyConfigured("DATABASE_URL must be set in production")
else:
    DATABASES = {"default": embedded_db.connection_settings(PAYSYS_EMBEDDED_POSTGRES_DIR)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise environ.ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...)")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parameters bound by the server, and psycopg prepares a statement a connection has run
# five times, so PostgreSQL stops parsing and planning it again (docs/decisions.md).
if env.bool("DB_PREPARED_STATEMENTS", default=True):
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "paysys.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange and broadcast tables; kombu's default is ./control, beside the code.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
# Workers log through the LOGGING setting (JSON lines with the task's correlation id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The beat schedule is data, owned by operators: django-celery-beat's tables, written by the
# data migration paysys/ops/migrations/0001_beat_schedule.py (a new periodic task is a new
# migration there). Nothing here: beat re-applies this setting at every start, which would undo
# an operator's change made in the admin.
CELERY_BEAT_SCHEDULE: dict = {}
# Every task has a time limit (a hung task frees its worker); a task that needs longer says so.
# No soft limit by default: its exception would reach the task's own error handling.
CELERY_TASK_TIME_LIMIT = 600

# --- History (django-simple-history) ---------------------------------------------------
# A past version is shown, never restored: the admin's per-version page would save it with
# obj.save(), around the services (paysys.admin.base.ServiceOnlyHistoryAdmin refuses it too).
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_EDIT = False

# --- Operators' log-in (paysys/operators; PCI DSS 8.2.8, 8.3.4, 8.3.6, 8.4.2) --------------
# A TOTP second factor for the admin: always in production; elsewhere an operator who enrolled a
# device gives its code, one who did not logs in with the password (tests, `make run`).
PAYSYS_ADMIN_OTP_REQUIRED = PRODUCTION or env.bool("PAYSYS_ADMIN_OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = f"paysys {PAYSYS_ENV}"
# django-axes: an operator name is locked for AXES_COOLOFF_TIME after AXES_FAILURE_LIMIT failed
# log-ins. Off in the test settings by default (Django's test client logs in without a request,
# which axes refuses); the lockout tests turn it on. Never off in production.
AXES_ENABLED = PRODUCTION or env.bool("AXES_ENABLED", default=PAYSYS_ENV != "test")
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
# By operator name, as PCI DSS 8.3.4 asks of a user ID; by address it would lock out a whole
# office behind one NAT, so axes' warning about it is silenced on purpose.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session ends after this many seconds without a request (every request pushes the expiry on)
# and when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- Internationalisation, time -------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
# collectstatic's output: the production image collects at build time and whitenoise serves it.
STATIC_ROOT = BASE_DIR / "staticfiles"
# Elsewhere (make run, the tests) nothing is collected: whitenoise finds each file in its app's
# static folder when asked, so it neither needs nor looks for STATIC_ROOT.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Money ----------------------------------------------------------------------------
# Stored amounts hold every ISO 4217 currency exactly: 3 decimal places (KWD, BHD, ...).
MONEY_DECIMAL_PLACES = 3
MONEY_MAX_DIGITS = 19
CURRENCY_DECIMAL_PLACES = 3
# Largest amount accepted at the API edge, in major units of any currency.
PAYSYS_MAX_AMOUNT_MAJOR = env.int("PAYSYS_MAX_AMOUNT_MAJOR", default=1_000_000)

# --- Ledger ---------------------------------------------------------------------------
LEDGER_POST_MAX_RETRIES = env.int("LEDGER_POST_MAX_RETRIES", default=8)
# Balance shards per new ledger account: credits spread over them so a hot account scales.
LEDGER_BALANCE_SHARDS = env.int("LEDGER_BALANCE_SHARDS", default=16)


# --- Payments -------------------------------------------------------------------------
def _minor_per_currency(name: str, default: dict[str, int]) -> dict[str, int]:
    """A table of amounts in each currency's minor units, ``EUR=25,JPY=30`` in the environment
    (either case), keyed by upper-case ISO 4217 code as every currency inside paysys."""
    table = env.dict(name, default=default)
    return {code.strip().upper(): int(value) for code, value in table.items()}


# The processor adapter: backend, per-call timeout, circuit breaker, simulator fault injection.
PAYSYS_PROCESSOR_BACKEND = env.str(
    "PAYSYS_PROCESSOR_BACKEND", default="payments.processor.simulator.SimulatorProcessor"
)
# Live mode's processor adapter (a dotted path to a ``payments.processor.base.Processor``). Empty:
# live card payments are refused with a clear 400; the simulator never serves live mode.
PAYSYS_LIVE_PROCESSOR_BACKEND = env.str("PAYSYS_LIVE_PROCESSOR_BACKEND", default="")
PAYSYS_PROCESSOR_TIMEOUT_MS = env.int("PAYSYS_PROCESSOR_TIMEOUT_MS", default=5000)
PAYSYS_PROCESSOR_BREAKER_THRESHOLD = env.int("PAYSYS_PROCESSOR_BREAKER_THRESHOLD", default=5)
PAYSYS_PROCESSOR_BREAKER_WINDOW_S = env.int("PAYSYS_PROCESSOR_BREAKER_WINDOW_S", default=30)
PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S = env.int("PAYSYS_PROCESSOR_BREAKER_COOLDOWN_S", default=30)
PAYSYS_PROCESSOR_SIMULATOR_LATENCY_MS = env.int("PAYSYS_PROCESSOR_SIMULATOR_LATENCY_MS", default=0)
PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE = env.float("PAYSYS_PROCESSOR_SIMULATOR_FAILURE_RATE", default=0.0)
PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE = env.float("PAYSYS_PROCESSOR_SIMULATOR_TIMEOUT_RATE", default=0.0)
# The simulated bank of payouts (settlements/bank.py): days from sending to arrival, and a latency.
PAYSYS_BANK_SIMULATOR_ARRIVAL_DAYS = env.int("PAYSYS_BANK_SIMULATOR_ARRIVAL_DAYS", default=1)
PAYSYS_BANK_SIMULATOR_LATENCY_MS = env.int("PAYSYS_BANK_SIMULATOR_LATENCY_MS", default=0)
# HMAC key of card fingerprints; empty means derived from SECRET_KEY.
PAYSYS_CARD_FINGERPRINT_KEY = env.str("PAYSYS_CARD_FINGERPRINT_KEY", default="")
PAYSYS_AUTHORIZATION_TTL_DAYS = env.int("PAYSYS_AUTHORIZATION_TTL_DAYS", default=7)
# Dispute fee charged to the merchant, per currency in its minor units (``EUR=1500,JPY=2000``),
# where the merchant's fee plan for that currency sets none (FeePlan.dispute_fee); a
# currency not listed has none. docs/decisions.md ("fixed fees per currency") has the defaults.
PAYSYS_DISPUTE_FEE_MINOR = _minor_per_currency(
    "PAYSYS_DISPUTE_FEE_MINOR",
    {
        "EUR": 1500,
        "USD": 1500,
        "GBP": 1500,
        "CHF": 1500,
        "CAD": 1500,
        "AUD": 1500,
        "SEK": 15000,
        "NOK": 15000,
        "DKK": 11000,
        "PLN": 6500,
        "JPY": 2000,
        "KWD": 5000,
        "BHD": 6000,
    },
)
PAYSYS_DISPUTE_EVIDENCE_DAYS = env.int("PAYSYS_DISPUTE_EVIDENCE_DAYS", default=7)
# Risk: a payment scoring at or above the threshold (0-100) waits in review.
PAYSYS_RISK_REVIEW_THRESHOLD = env.int("PAYSYS_RISK_REVIEW_THRESHOLD", default=75)
PAYSYS_RISK_VELOCITY_WINDOW_S = env.int("PAYSYS_RISK_VELOCITY_WINDOW_S", default=3600)
PAYSYS_RISK_VELOCITY_CARD_MAX = env.int("PAYSYS_RISK_VELOCITY_CARD_MAX", default=20)
PAYSYS_RISK_VELOCITY_IP_MAX = env.int("PAYSYS_RISK_VELOCITY_IP_MAX", default=50)

# --- Merchants, API keys, idempotency (merchants/, paysys/api, paysys/idempotency) ------
# Resolves a Bearer secret to an ApiCaller; named here because paysys/* never imports apps.
PAYSYS_API_KEY_AUTHENTICATOR = "merchants.services.api_key_authenticate"
# The server-side key of the API keys' HMAC-SHA256; changing it invalidates every key.
PAYSYS_API_KEY_PEPPER = env.str("PAYSYS_API_KEY_PEPPER", default=SECRET_KEY)
_production_key_required("PAYSYS_API_KEY_PEPPER", PAYSYS_API_KEY_PEPPER, "it keys the hashes of API keys")
PAYSYS_DEFAULT_FEE_BASIS_POINTS = env.int("PAYSYS_DEFAULT_FEE_BASIS_POINTS", default=290)
# The fixed part of a payment's fee, per currency in its minor units (``EUR=25,USD=30``), where
# the merchant's fee plan for that currency sets none (FeePlan.fixed): one number of minor
# units is EUR 0.30 but JPY 30 and KWD 0.030. A currency not listed has no fixed fee.
PAYSYS_DEFAULT_FEE_FIXED_MINOR = _minor_per_currency(
    "PAYSYS_DEFAULT_FEE_FIXED_MINOR",
    {
        "EUR": 25,
        "USD": 30,
        "GBP": 20,
        "CHF": 30,
        "CAD": 30,
        "AUD": 30,
        "SEK": 180,
        "NOK": 200,
        "DKK": 180,
        "PLN": 100,
        "JPY": 30,
        "KWD": 100,
        "BHD": 100,
    },
)
PAYSYS_IDEMPOTENCY_RETENTION_HOURS = env.int("PAYSYS_IDEMPOTENCY_RETENTION_HOURS", default=24)
# Keys of the encryption at rest (paysys/crypto.py: webhook secrets, stored idempotent responses);
# the first encrypts, all decrypt; empty: derived from SECRET_KEY.
PAYSYS_ENCRYPTION_KEYS = env.list("PAYSYS_ENCRYPTION_KEYS", default=[])

# --- Webhooks (paysys/events; docs/webhooks.md) -------------------------------------------
# The Celery queue of deliveries; workers serving it: `celery -A paysys worker -Q webhooks`.
PAYSYS_WEBHOOK_QUEUE = env.str("PAYSYS_WEBHOOK_QUEUE", default="webhooks")
PAYSYS_WEBHOOK_CONNECT_TIMEOUT = env.float("PAYSYS_WEBHOOK_CONNECT_TIMEOUT", default=3.0)
PAYSYS_WEBHOOK_READ_TIMEOUT = env.float("PAYSYS_WEBHOOK_READ_TIMEOUT", default=10.0)
PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = env.int("PAYSYS_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", default=4)
# Threads per worker process making deliveries (each holds a database connection while it works).
PAYSYS_WEBHOOK_DELIVERY_THREADS = env.int("PAYSYS_WEBHOOK_DELIVERY_THREADS", default=8)
# Lets endpoints on loopback and private networks through the SSRF guard: development only.
PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
if PRODUCTION and PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS:
    raise environ.ImproperlyConfigured(
        "PAYSYS_WEBHOOK_ALLOW_PRIVATE_URLS must not be set in production: it would let merchants "
        "point webhooks at loopback and private addresses (SSRF)"
    )
# A worker started without -Q (make run, the compose file) serves both queues; at scale, run one
# worker pool per queue (`-Q celery` and `-Q webhooks`) so slow receivers never delay other tasks.
CELERY_TASK_QUEUES = {"celery": {}, PAYSYS_WEBHOOK_QUEUE: {}}

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "paysys.api.schema.PaysysAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["paysys.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "paysys.api.errors.exception_handler",
    # Deny by default: a view that names no authentication or permission needs an API key; a
    # public endpoint (the schema, its docs, the bench floor) opts out on its own route.
    "DEFAULT_AUTHENTICATION_CLASSES": ["paysys.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "paysys.api.auth.ApiKeyScopePermission",
    ],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["paysys.api.throttling.ApiKeyRateThrottle"],
    # Lists: ``limit``/``starting_after`` pages and the views' django-filter sets (paysys/api).
    "DEFAULT_PAGINATION_CLASS": "paysys.api.pagination.StartingAfterPagination",
    "DEFAULT_FILTER_BACKENDS": ["paysys.api.filters.PaysysFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "paysys API",
    "DESCRIPTION": "The merchant API of paysys: payments, refunds, ledger accounts, transfers and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the pinned drf-spectacular-sidecar, served with the static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # 3.1 (JSON Schema 2020-12) can state what 3.0 cannot, e.g. metadata's key lengths.
    "OAS_VERSION": "3.1.0",
    # Choice sets that share a field name get explicit names, so `check --deploy` stays free of
    # drf-spectacular's naming-collision warnings (name any new colliding set here).
    "ENUM_NAME_OVERRIDES": {
        "WebhookEndpointStatusEnum": "paysys.events.models.WebhookEndpoint.Status",
        "PaymentMethodTypeEnum": ["card"],
        "EventTypeEnum": "paysys.events.types.EVENT_TYPE_CHOICES",
        "EnabledEventEnum": "paysys.events.types.ENABLED_EVENT_CHOICES",
    },
}

# --- Operations: readiness, worker metrics, rate limits (paysys/ops, paysys/api/throttling) ---
PAYSYS_READY_TIMEOUT_SECONDS = env.float("PAYSYS_READY_TIMEOUT_SECONDS", default=1.0)
PAYSYS_WORKER_METRICS_PORT = env.int("PAYSYS_WORKER_METRICS_PORT", default=0)  # 0: off
# Per API key, per second; reads (GET, HEAD, OPTIONS) and writes have separate budgets.
# Off by default in the test suite, where one key may fire hundreds of requests a second;
# the rate-limit tests turn it on.
# Reverse proxies in front of the web process, each appending to X-Forwarded-For; 0: none, the
# connection's address is the client's (paysys/client_ip.py). Risk velocity and audit use it.
PAYSYS_TRUSTED_PROXIES = env.int("PAYSYS_TRUSTED_PROXIES", default=0)
PAYSYS_RATE_LIMIT_ENABLED = env.bool("PAYSYS_RATE_LIMIT_ENABLED", default=PAYSYS_ENV != "test")
PAYSYS_RATE_LIMIT_READ_PER_SECOND = env.int("PAYSYS_RATE_LIMIT_READ_PER_SECOND", default=100)
PAYSYS_RATE_LIMIT_WRITE_PER_SECOND = env.int("PAYSYS_RATE_LIMIT_WRITE_PER_SECOND", default=100)
# Mounts a database-free DRF view at /v1/bench/noop for bench/api.py's floor; never in production.
PAYSYS_BENCH = env.bool("PAYSYS_BENCH", default=False) and not PRODUCTION

# --- Security in production -----------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Strict"
    CSRF_COOKIE_SAMESITE = "Strict"

# --- Logging: JSON lines carrying request and correlation ids --------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation": {"()": "paysys.correlation.CorrelationLogFilter"},
        "redact": {"()": "paysys.logging.SecretRedactionFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(correlation_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["correlation", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's own plain-text console handler, so every line is JSON.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "INFO"},
        # httpx logs every request's full URL at INFO: a merchant's webhook URL may carry credentials.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # runserver's own per-request line repeats paysys.access; keep only its warnings.
        "django.server": {"level": "WARNING"},
    },
}
