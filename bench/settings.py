"""Benchmark settings: production-like (DEBUG off, Redis cache) on the harness's own database.

``BENCH_DATABASE_NAME`` names the database the harness created; it is never the dev or test one.
"""

import os

from ekomi.settings.base import *  # noqa: F403
from ekomi.settings.base import POSTGRES_OPTIONS, REDIS_BROKER_TRANSPORT, env

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DATABASE_NAME", "ekomi_bench"),
        "USER": env.str("BENCH_PGUSER", default="postgres"),
        "HOST": env.str("BENCH_PGHOST", default="127.0.0.1"),
        "PORT": env.int("BENCH_PGPORT", default=5432),
        "CONN_MAX_AGE": 60,
        "ATOMIC_REQUESTS": False,
        "OPTIONS": {**POSTGRES_OPTIONS},  # prepared statements, as production
    }
}
REDIS_URL = env.str("BENCH_REDIS_URL", default="redis://127.0.0.1:6379/5")
CACHES = {
    "default": {
        "BACKEND": "ekomi.cache.RedisCache",
        "LOCATION": REDIS_URL,
        # A fresh prefix per gunicorn (bench/server.py): no run reads an earlier run's entries.
        "KEY_PREFIX": os.environ.get("BENCH_CACHE_PREFIX", "bench"),
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT = REDIS_BROKER_TRANSPORT
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The origin figures are measured with caches cold: every request renders from the database.
if os.environ.get("BENCH_CACHE") == "cold":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
