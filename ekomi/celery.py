"""The Celery app: configuration comes from Django settings with the ``CELERY_`` prefix."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ekomi.settings.dev")

app = Celery("ekomi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger, *args, **kwargs):
    """The worker replaces Django's log handlers: put the redaction filter on its own (R43)."""
    from ekomi.logging import RedactSecretsFilter

    for handler in logger.handlers:
        handler.addFilter(RedactSecretsFilter())
