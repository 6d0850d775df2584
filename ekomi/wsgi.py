"""WSGI entry point (gunicorn ekomi.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ekomi.settings.dev")
application = get_wsgi_application()

# Import every view module and build the URL maps while the worker boots: Django does it on the
# first request otherwise, which made each new worker's first request about a second slower
# (bench, "POST /api/v1/orders": the first order batch a worker took ran at a quarter speed).
get_resolver().reverse_dict  # noqa: B018 (the property builds the maps)
