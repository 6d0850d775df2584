"""Matrix rows for the dashboard, switchers, team and integration pages."""

from __future__ import annotations

from companies.models import Role
from companies.services import api_key_create
from tests import factories

ROWS = {
    "dashboard": ("get", "/backend/", {}, 200),
    "switch-company": ("post", "/backend/switch-company/", {"company_id": "{company}"}, 404),
    "switch-shop": ("post", "/backend/switch-shop/", {"shop_id": "{shop}"}, 404),
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


def seed(company, shop) -> dict:
    manager = factories.MembershipFactory(company=company, role=Role.MANAGER)
    key, _raw = api_key_create(shop=shop, name="ACME-A key")
    return {"company": company.pk, "shop": shop.pk, "membership": manager.pk, "api_key": key.pk}
