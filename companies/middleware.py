"""Enters the right tenant scope for every request (TESTPLAN TI-4).

- ``/admin/`` for platform staff: across tenants (staff work on every company's data).
- ``/backend/`` for a logged-in company user: the company chosen in the session, if they are
  still a member.
- anything else (public pages, the API before authentication): no scope, so a tenant query that
  forgot to name its company raises instead of leaking. The API enters its scope itself. Public
  pages never touch the session here, so their cached answers do not vary by cookie (TI-5).
"""

from __future__ import annotations

from contextlib import ExitStack

from django.urls import reverse

from companies.tenancy import cross_tenant, tenant_scope

SESSION_COMPANY_KEY = "company_id"
SESSION_SHOP_KEY = "shop_id"
BACKEND_PREFIX = "/backend/"


class TenantScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        with ExitStack() as stack:
            user = getattr(request, "user", None)
            request.company = None
            if request.path.startswith(self._admin_prefix):
                if user is not None and user.is_active and user.is_staff:
                    # Deliberately cross-tenant: Django admin is the platform staff's tool.
                    stack.enter_context(cross_tenant())
            elif (
                request.path.startswith(BACKEND_PREFIX)
                and user is not None
                and (user.is_authenticated)
            ):
                company = self._session_company(request, user)
                if company is not None:
                    request.company = company
                    stack.enter_context(tenant_scope(company))
            return self.get_response(request)

    @staticmethod
    def _session_company(request, user):
        from companies.selectors import companies_for_user

        companies = companies_for_user(user)
        chosen = request.session.get(SESSION_COMPANY_KEY)
        company = companies.filter(pk=chosen).first() if chosen else None
        if company is None:
            company = companies.order_by("pk").first()
            if company is not None:
                request.session[SESSION_COMPANY_KEY] = company.pk
        return company
