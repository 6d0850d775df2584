"""Test settings: real Postgres and Redis (started by the test command), fast hashing.

The test database name carries a hash of all migrations, so ``--reuse-db`` is safe: a changed
migration gives a new database instead of a stale schema.
"""

import hashlib
import os

from .base import *  # noqa: F403
from .base import BASE_DIR, POSTGRES_OPTIONS, REDIS_BROKER_TRANSPORT, env


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(BASE_DIR.glob("*/migrations/*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
DATABASES = {
    "default": env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/ekomi")
}
# TEST_DB_SUFFIX keeps two test runs on one machine (a developer's and a CI clone) apart.
DATABASES["default"]["TEST"] = {
    "NAME": f"test_ekomi_{_migrations_fingerprint()}{env.str('TEST_DB_SUFFIX', default='')}"
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["OPTIONS"] = {**POSTGRES_OPTIONS}  # as production runs them

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/1")
CACHES = {
    "default": {
        "BACKEND": "ekomi.cache.RedisCache",
        "LOCATION": REDIS_URL,
        # One prefix per xdist worker, so parallel tests never read each other's entries.
        "KEY_PREFIX": f"test-{_worker}",
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT = REDIS_BROKER_TRANSPORT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Live-stack tests of a lost worker (FA-2) shorten these, as the test plan prescribes.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}
# One list per xdist worker (its live Celery worker inherits the name), as for the cache.
REVIEW_SCREENING_LIST = f"reviews:screening:{_worker}"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-process tests read django.core.mail.outbox. A live-stack Celery worker (tests/live) is given
# TEST_EMAIL_URL, the SMTP sink of its test; a name of its own, so a developer's EMAIL_URL never
# sends the suite's mail anywhere.
if env.str("TEST_EMAIL_URL", default=""):
    vars().update(env.email_url("TEST_EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Live-stack tests shorten the send retry backoff so a 451 is retried within a second.
INVITATION_SEND_RETRY_BASE_SECONDS = env.float("INVITATION_SEND_RETRY_BASE_SECONDS", default=30)
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
