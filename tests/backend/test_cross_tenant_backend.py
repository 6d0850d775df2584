"""TI-1 for the backend: every /backend/ URL, tried by company B's owner with company A's ids,
answers like a missing object and changes nothing of A. New URLs must be added to ``MATRIX``."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import URLPattern

from companies import urls_backend
from companies.middleware import SESSION_COMPANY_KEY
from companies.models import ApiKey, Company, Membership, Role, Shop
from companies.services import api_key_create
from tests import factories

pytestmark = pytest.mark.django_db

# url name -> (method, path template, data, expected status); {…} are company A's ids.
MATRIX = {
    "dashboard": ("get", "/backend/", {}, 200),
    "switch-company": ("post", "/backend/switch-company/", {"company_id": "{company}"}, 404),
    "team": ("get", "/backend/team/", {}, 200),
    # Inviting names no object: B's invitation goes to B's own team, never A's.
    "team-invite": (
        "post",
        "/backend/team/invite/",
        {"email": "x@example.com", "role": "owner"},
        302,
    ),
    "team-role": ("post", "/backend/team/{membership}/role/", {"role": "viewer"}, 404),
    "team-remove": ("post", "/backend/team/{membership}/remove/", {}, 404),
    # B's own integration page: B's shops only.
    "integration": ("get", "/backend/integration/", {}, 200),
    "integration-key-create": (
        "post",
        "/backend/integration/shops/{shop}/keys/",
        {"name": "stolen"},
        404,
    ),
    "integration-key-revoke": (
        "post",
        "/backend/integration/keys/{api_key}/revoke/",
        {"confirm": "yes"},
        404,
    ),
    "integration-password-rotate": (
        "post",
        "/backend/integration/shops/{shop}/rotate-password/",
        {"confirm": "yes"},
        404,
    ),
}


def test_it_covers_every_backend_url_and_every_view_checks_a_role():
    """A new backend URL without a matrix row, or a view without require_role, fails here."""
    names = {p.name for p in urls_backend.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(MATRIX)
    for pattern in urls_backend.urlpatterns:
        assert hasattr(pattern.callback, "minimum_role"), pattern.name


def _snapshot(company):
    return (
        sorted(Membership.objects.for_company(company).values_list("pk", "user_id", "role")),
        Company.objects.filter(pk=company.pk).values().get(),
        sorted(ApiKey.objects.for_company(company).values_list("pk", "name", "revoked_at")),
        sorted(Shop.objects.for_company(company).values_list("pk", "interface_password_hash")),
    )


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_it_never_shows_or_changes_company_a_for_company_b(
    name, client, company, shop, owner, other_company, other_owner
):
    """TI-1: B's owner with A's ids: A's data is not shown, A is unchanged, B stays on B."""
    manager = factories.MembershipFactory(company=company, role=Role.MANAGER)
    method, path, data, expected = MATRIX[name]
    key, _raw = api_key_create(shop=shop, name="ACME-A key")
    ids = {"company": company.pk, "shop": shop.pk, "membership": manager.pk, "api_key": key.pk}
    before = _snapshot(company)
    client.force_login(other_owner)
    client.get("/backend/")

    response = getattr(client, method)(
        path.format(**ids), {k: v.format(**ids) for k, v in data.items()}
    )

    assert response.status_code == expected
    body = response.content.decode()
    assert "ACME-A" not in body and manager.user.email not in body and owner.email not in body
    assert shop.interface_id not in body and shop.slug not in body and key.prefix not in body
    assert _snapshot(company) == before
    assert client.session[SESSION_COMPANY_KEY] == other_company.pk
    assert all("ACME-A" not in message.body for message in mail.outbox)
