"""API error answers: always JSON, with the right status, never a 500 page for bad input.

- a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 (IN-2);
- a database that is down or restarting is a 503 the client may retry (FA-5).
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large.", "code": "body_too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable during an API request: %s", type(exc).__name__)
        return Response(
            {"detail": "The service is briefly unavailable; retry shortly.", "code": "unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return exception_handler(exc, context)
