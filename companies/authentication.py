"""API-key authentication for ``/api/v1/`` (R3, TESTPLAN TI-3, AU-6).

Kept apart from the viewsets: DRF imports its default authentication classes while it loads
its own views, so this module must not import ``rest_framework.views``.
"""

from __future__ import annotations

import logging

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from companies import selectors, services
from companies.models import Company

security_log = logging.getLogger("security")


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>``; ``request.auth`` becomes the ``ApiKey``."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer <key>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid API key.") from exc
        api_key = selectors.api_key_lookup(raw)
        if api_key is None:
            # TI-3: one WARNING line with the key's public prefix, the tenant (known only for a
            # revoked key) and the path; never the key itself.
            company_id = selectors.api_key_revoked_company(raw)
            security_log.warning(
                "api key rejected reason=%s prefix=%s company=%s method=%s path=%s",
                "revoked" if company_id else "unknown",
                raw[3:11] if raw.startswith("ek_") else "-",
                company_id or "-",
                request.method,
                request.path,
            )
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        services.api_key_touch(api_key=api_key)
        return (None, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "companies.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A shop's API key."}


class HasShopApiKey(permissions.BasePermission):
    """A shop's key of a company whose access is not blocked or ended (R30, R31)."""

    message = "This company's access is blocked or its contract has ended."

    def has_permission(self, request, view):
        key = request.auth
        if key is None or getattr(key, "shop_id", None) is None:
            return False
        if key.company.status != Company.Status.ACTIVE:
            security_log.warning(
                "api key refused company=%s status=%s prefix=%s path=%s",
                key.company_id,
                key.company.status,
                key.prefix,
                request.path,
            )
            return False
        return True
