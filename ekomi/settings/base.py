"""Settings shared by every environment.

Everything that differs between machines comes from the environment (django-environ). With
nothing set, the platform runs on its embedded defaults: SQLite and a file-based Celery broker in
``var/``, emails written to ``var/mail/``. ``production.py`` removes the defaults for secrets.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env file fills in what the environment leaves unset; tests that must see the pure
# embedded defaults switch it off.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# All local state of the embedded mode lives below VAR_DIR (database, broker, mail, media).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-embedded-default-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Proxies whose X-Forwarded-For is believed (nginx in front of gunicorn); nobody else's.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Derives rating-link tokens from their stored nonces (invitations/tokens.py). Changing it keeps
# every link already sent working (they are looked up by hash) but re-sends get new links.
RATING_LINK_SECRET = env.str("RATING_LINK_SECRET", default=SECRET_KEY)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    # django.contrib.admin with a second factor for staff (moderation/admin_site.py, TI-5).
    "moderation.admin_apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "companies",
    "invitations",
    "reviews",
    "moderation",
    "seals",
    "billing",
    "payments",
    "compat",
    "privacy",
    "guidance",
    "terms",
    "status",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "companies.middleware.TenantScopeMiddleware",
]

ROOT_URLCONF = "ekomi.urls"
WSGI_APPLICATION = "ekomi.wsgi.application"
ASGI_APPLICATION = "ekomi.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False


# With DB_PREPARED_STATEMENTS on (the default), the server binds the parameters and a statement
# a connection has run five times is prepared: Postgres plans it once instead of on every
# request (bench, figure "origin": about a quarter of a seal image's time). Turn it off behind
# a connection pooler that cannot keep prepared statements (PgBouncer before 1.21 in
# transaction mode).
POSTGRES_OPTIONS = (
    {"server_side_binding": True, "prepare_threshold": 5}
    if env.bool("DB_PREPARED_STATEMENTS", default=True)
    else {}
)


def postgres_connection(database: dict) -> dict:
    """Persistent connections with health checks, and prepared statements (above)."""
    database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    database["CONN_HEALTH_CHECKS"] = True
    database.setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)
    return database


if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    postgres_connection(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker ----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "ekomi.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ekomi"),
            # A hung Redis must fail a request in seconds, not hang it (TESTPLAN FA-3).
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "companies.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/backend/"
# Staff need a TOTP code for the admin (TI-5); the issuer names the account in the app.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Review platform")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's secret key

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Files only staff may read (evidence of link requests); never served under MEDIA_URL.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email ------------------------------------------------------------------------------------
MAIL_DIR = VAR_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    # Embedded default: one .eml file per message, listed on the debug-only mailbox page.
    EMAIL_BACKEND = "ekomi.mail.MailDirBackend"
    EMAIL_FILE_PATH = str(MAIL_DIR)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="reviews@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# --- Billing: the seller on invoices and e-invoices (R34, EN 16931) ---------------------------
BILLING_SELLER_NAME = env.str("BILLING_SELLER_NAME", default="Reviews Platform GmbH")
BILLING_SELLER_STREET = env.str("BILLING_SELLER_STREET", default="Zimmerstr. 11")
BILLING_SELLER_POSTCODE = env.str("BILLING_SELLER_POSTCODE", default="10969")
BILLING_SELLER_CITY = env.str("BILLING_SELLER_CITY", default="Berlin")
BILLING_SELLER_COUNTRY = env.str("BILLING_SELLER_COUNTRY", default="DE")
BILLING_SELLER_VAT_ID = env.str("BILLING_SELLER_VAT_ID", default="DE123456789")
BILLING_SELLER_REGISTRATION = env.str("BILLING_SELLER_REGISTRATION", default="HRB 123456 B")
BILLING_SELLER_IBAN = env.str("BILLING_SELLER_IBAN", default="DE89370400440532013000")
BILLING_SELLER_EMAIL = env.str("BILLING_SELLER_EMAIL", default="billing@localhost")
# Django's default is no timeout: a hung SMTP server would stall a worker forever (FA-6).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# First retry of a transient SMTP failure; doubles per attempt, capped below the send lease.
INVITATION_SEND_RETRY_BASE_SECONDS = env.float("INVITATION_SEND_RETRY_BASE_SECONDS", default=30)

# --- Uploads and request limits (IN-2) --------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=20 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_ENGINE = "ekomi.sessions"  # Django's database sessions, read without the ORM
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["companies.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["companies.authentication.HasShopApiKey"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "ekomi.api_errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["companies.throttling.ApiKeyRateThrottle"],
}
# Requests per API key and minute (a bulk POST of 10,000 orders counts once); 429 beyond.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
SPECTACULAR_SETTINGS = {
    "TITLE": "Review platform API",
    "DESCRIPTION": "Orders in, invitations out, reviews and seals. Authenticate every request "
    "with `Authorization: Bearer <api key>`; each key belongs to one shop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ekomi.openapi.add_error_responses",
    ],
}

# --- Celery -----------------------------------------------------------------------------------
# kombu's Redis transport, reusing one client per channel (ekomi/broker.py).
REDIS_BROKER_TRANSPORT = "ekomi.broker:Transport"
# Delivery is at-least-once; every task is idempotent (TESTPLAN §1.5).
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if REDIS_URL:
    if REDIS_URL.startswith("redis://"):  # rediss:// keeps kombu's own, which sets up TLS
        CELERY_BROKER_TRANSPORT = REDIS_BROKER_TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Above the longest countdown we use; reminders are scheduled in the DB, not by ETA.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # A hung Redis fails an enqueue within seconds instead of blocking a request.
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = False
# Rating submissions waiting for their screening: a list in the broker's Redis (R17).
REVIEW_SCREENING_LIST = "reviews:screening"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # The invitation table is the outbox: sweep it often so due emails leave within a minute.
    "send-invitations": {"task": "invitations.send_invitations", "schedule": 60.0},
    # Six-month links (R9) are disabled by one idempotent UPDATE; hourly keeps the lag small.
    "expire-links": {"task": "invitations.expire_links", "schedule": crontab(minute=5)},
    # Backstop of the rating page's screening message (R17): pending reviews left behind.
    "screen-overdue-reviews": {
        "task": "reviews.screen_overdue_submissions",
        "schedule": 120.0,
    },
    # Reviews age out of the 12-month window at midnight (R26).
    "recompute-seals": {"task": "seals.recompute_seals", "schedule": crontab(hour=0, minute=15)},
    # Every retention rule in one daily run at a quiet hour (moderation.retention,
    # docs/privacy.md): invitation and link-request PII (R11), unconfirmed visitor reviews
    # after the link's 7 days (R14), network data after 90 days (R23).
    "purge-personal-data": {
        "task": "invitations.purge_personal_data",
        "schedule": crontab(hour=3, minute=30),
    },
    # Integrity signals (R23): invitation coverage and order drops once a day.
    "integrity-coverage-scan": {
        "task": "moderation.integrity_coverage_scan",
        "schedule": crontab(hour=4, minute=10),
    },
    # Renewals, invoices, collections and dunning (R33-R36): daily, before office hours.
    "run-billing": {"task": "billing.run_billing", "schedule": crontab(hour=5, minute=0)},
    # R41: last week's reviews to the users who want the digest; idempotent per ISO week.
    "weekly-digests": {
        "task": "companies.send_weekly_digests",
        "schedule": crontab(day_of_week=1, hour=6, minute=30),
    },
    # Pre-notifications, reminders, late fees and interest (R35, R36, R39): after billing.
    "run-payments": {"task": "payments.run_payments", "schedule": crontab(hour=5, minute=30)},
    # Availability is measured from /healthz's own checks, one sample a minute (R46).
    "sample-health": {"task": "status.sample_health", "schedule": 60.0},
    # Terms versions bind silent companies on their effective date (R45): just after midnight.
    "apply-terms": {"task": "terms.apply_terms_versions", "schedule": crontab(hour=0, minute=5)},
}

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "ekomi.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Platform defaults (per shop values override these) -----------------------------------------
INVITATION_DEFAULT_DELAY_DAYS = 7
INVITATION_DEFAULT_REMINDERS = 1
INVITATION_DEFAULT_REMINDER_INTERVAL_DAYS = 7
INVITATION_LINK_VALIDITY_MONTHS = 6  # 004 §6.4
# The plan a confirmed self-service sign-up concludes (R44, 001 §3.1); empty: none.
BILLING_STANDARD_PLAN_NAME = env.str("BILLING_STANDARD_PLAN_NAME", default="")
PERSONAL_DATA_RETENTION_DAYS = 30  # 000 §3, R11

# --- Payments (payments/, R35, R36, R39) --------------------------------------------------------
# The creditor in pain.008 files; the defaults are the SEPA test creditor id and a test account.
PAYMENTS_CREDITOR_NAME = env.str("PAYMENTS_CREDITOR_NAME", default="Reviews Platform GmbH")
PAYMENTS_CREDITOR_ID = env.str("PAYMENTS_CREDITOR_ID", default="DE98ZZZ09999999999")
PAYMENTS_CREDITOR_IBAN = env.str("PAYMENTS_CREDITOR_IBAN", default="DE89370400440532013000")
PAYMENTS_CREDITOR_BIC = env.str("PAYMENTS_CREDITOR_BIC", default="COBADEFFXXX")
PAYMENTS_DUE_DAYS = 0  # 004 §14.1: due immediately after invoicing
PAYMENTS_PRENOTIFICATION_DAYS = 1  # 004 §14.4: pre-notification period reduced to one day
PAYMENTS_REMINDER_FIRST_DAYS = 7  # first reminder a week after the due date
PAYMENTS_REMINDER_INTERVAL_DAYS = 14
PAYMENTS_REMINDER_MAX = 4
PAYMENTS_RETURN_FEE = "20.00"  # 004 §14.5
PAYMENTS_LATE_FEE = "40.00"  # 004 §14.8, § 288 (5) BGB
PAYMENTS_LATE_FEE_AFTER_DAYS = 30  # § 286 (3) BGB: default 30 days after the due date
PAYMENTS_INTEREST_POINTS = "9.00"  # 004 §14.8, § 288 (2) BGB: points above the base rate
PAYMENTS_TERMINATION_AFTER_MONTHS = 2  # 004 §13.6: overdue by two months after invoicing
# R39 "allows" termination: by default staff confirm it in admin; True terminates in the run.
PAYMENTS_TERMINATE_AUTOMATICALLY = False
