"""Fixtures of the billing tests."""

from __future__ import annotations

import pytest

from ekomi.celery import app as celery_app


@pytest.fixture
def eager():
    """``.delay()`` runs the task at once, in this process: billing emails land in the locmem
    outbox when a test runs the on-commit callbacks."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
