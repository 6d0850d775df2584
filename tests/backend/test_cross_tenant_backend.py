"""TI-1 for the backend: every /backend/ URL, tried by company B's owner with company A's ids,
answers like a missing object and changes nothing of A. Rows live in ``tests/backend/cross_tenant``
(one module per area); a URL without a row fails here."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core import mail
from django.urls import URLPattern, URLResolver

from companies import urls_backend
from companies.middleware import SESSION_COMPANY_KEY
from companies.models import Company
from companies.tenancy import TenantModel
from tests.backend.cross_tenant import area_modules

pytestmark = pytest.mark.django_db

MODULES = area_modules()
MATRIX = {name: row for module in MODULES for name, row in module.ROWS.items()}


def _patterns(patterns, namespace_prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern


def test_it_covers_every_backend_url_and_every_view_checks_a_role():
    """TI-1: a new backend URL without a matrix row, or a view without require_role, fails."""
    patterns = list(_patterns(urls_backend.urlpatterns))
    names = [p.name for p in patterns]
    assert len(names) == len(set(names)), "backend URL names must be unique"
    assert set(names) == set(MATRIX)
    assert sum(len(m.ROWS) for m in MODULES) == len(MATRIX), "a row is defined twice"
    for pattern in patterns:
        assert hasattr(pattern.callback, "minimum_role"), pattern.name


def _snapshot(company):
    """Every row of every tenant model that belongs to ``company``, and the company itself."""
    rows = {"company": Company.objects.filter(pk=company.pk).values().get()}
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            queryset = model.objects.unscoped().filter(company=company).order_by("pk")
            rows[model._meta.label] = list(queryset.values())
    return rows


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_it_never_shows_or_changes_company_a_for_company_b(
    name, client, company, shop, owner, other_company, other_shop, other_owner
):
    """TI-1: B's owner with A's ids: A's data is not shown, A is unchanged, B stays on B."""
    ids = {}
    for module in MODULES:
        ids.update(module.seed(company, shop))
    method, path, data, expected = MATRIX[name]
    before = _snapshot(company)
    client.force_login(other_owner)
    client.get("/backend/")

    response = getattr(client, method)(
        path.format(**ids), {k: v.format(**ids) for k, v in data.items()}
    )

    assert response.status_code == expected
    body = response.content.decode()
    assert "ACME-A" not in body and owner.email not in body
    assert shop.interface_id not in body and shop.slug not in body
    assert _snapshot(company) == before
    assert client.session[SESSION_COMPANY_KEY] == other_company.pk
    assert all("ACME-A" not in message.body for message in mail.outbox)
