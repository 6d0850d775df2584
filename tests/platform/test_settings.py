"""Settings the test plan pins, so nobody drifts (TESTPLAN §6, FA-1, FA-3, FA-6, IN-2, AU-7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rest_framework
from django.conf import settings
from packaging.version import Version

from ekomi.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def test_it_pins_celery_delivery_settings():
    """FA-1: at-least-once delivery with idempotent tasks; FA-3: a hung Redis fails fast."""
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    options = conf.broker_transport_options
    assert options["socket_timeout"] <= 5 and options["socket_connect_timeout"] <= 5
    assert options["visibility_timeout"] >= 3600


def test_it_pins_timeouts_and_limits():
    """FA-6: SMTP cannot hang a worker; IN-2: request bodies are bounded (DRF >= 3.17.2)."""
    assert 0 < settings.EMAIL_TIMEOUT <= 30
    assert 0 < settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 50 * 1024 * 1024
    assert Version(rest_framework.VERSION) >= Version("3.17.2")
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_it_keeps_security_headers_on():
    """AU-7: nosniff, no framing of the backend, CSP without plugins or foreign bases."""
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF is True
    assert settings.X_FRAME_OPTIONS == "DENY"
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_it_schedules_every_periodic_job_as_a_registered_task():
    """DESIGN §4: each periodic job is in the beat schedule and is a real task."""
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "invitations.send_invitations",
        "invitations.expire_links",
        "reviews.screen_overdue_submissions",
        "seals.recompute_seals",
        "invitations.purge_personal_data",
        "billing.run_billing",
        "payments.run_payments",
        "moderation.integrity_coverage_scan",
        "status.sample_health",
        "terms.apply_terms_versions",
        "companies.send_weekly_digests",
    }
    assert scheduled <= set(celery_app.tasks)


def _production_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="ekomi.settings.production", ALLOWED_HOSTS="example.com")
    env.update(overrides)
    return env


def _check(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_in_production_without_secret_key_or_database_url():
    """Production has no defaults for secrets."""
    no_secret = _check(_production_env(DATABASE_URL="postgres://u@127.0.0.1/x"))
    assert no_secret.returncode != 0 and "SECRET_KEY" in no_secret.stderr
    no_database = _check(_production_env(SECRET_KEY="x" * 50))
    assert no_database.returncode != 0 and "DATABASE_URL" in no_database.stderr
    both = _check(_production_env(SECRET_KEY="x" * 50, DATABASE_URL="postgres://u@127.0.0.1/x"))
    assert both.returncode == 0, both.stderr


def _database_options(env) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_it_prepares_repeated_statements_in_production_unless_turned_off():
    """Issue 12 (origin figures): production binds on the server and prepares statements a
    connection repeats; ``DB_PREPARED_STATEMENTS=0`` turns it off for poolers that cannot."""
    env = _production_env(SECRET_KEY="x" * 50, DATABASE_URL="postgres://u@127.0.0.1/x")
    assert _database_options(env) == {"server_side_binding": True, "prepare_threshold": 5}
    assert _database_options({**env, "DB_PREPARED_STATEMENTS": "0"}) == {}


@pytest.mark.django_db
def test_it_plans_a_repeated_statement_once_per_connection():
    """Issue 12: the fifth run of the same statement on a connection uses a prepared plan, so
    Postgres no longer plans the public surfaces' reads on every request."""
    from django.db import connection

    from seals.selectors import public_shop

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            return cursor.fetchone()[0]

    before = prepared()
    for _ in range(6):
        assert public_shop("no-such-shop") is None
    assert prepared() > before


def test_it_loads_the_url_maps_while_a_worker_boots():
    """Issue 12 (bench, order ingest): importing the WSGI application imports every view module
    and builds the URL maps, so no worker's first request pays for them."""
    code = (
        "import sys; import ekomi.wsgi; from django.urls import get_resolver; "
        "print('invitations.views_api' in sys.modules, get_resolver()._populated)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
