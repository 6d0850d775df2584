"""Management commands that run one periodic job, for operators and tests."""

from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import BaseCommand


class JobCommand(BaseCommand):
    """Runs ``job()`` (the same service the Celery beat task calls) and prints its count."""

    job: Callable[[], int]
    label = "done"

    def handle(self, *args, **options):
        count = type(self).job()
        self.stdout.write(f"{self.label}: {count}")
