"""``create_company``: the operator's way to onboard a company (R1-R3)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from companies.models import ApiKey, Membership, Role, Shop, User
from companies.selectors import shop_for_interface

pytestmark = pytest.mark.django_db


def create(*extra):
    out = StringIO()
    call_command(
        "create_company",
        "--name",
        "ACME-A GmbH",
        "--shop",
        "ACME-A Outdoor",
        "--owner-email",
        "Owner@Example.com",
        "--json",
        *extra,
        stdout=out,
    )
    return json.loads(out.getvalue())


def test_it_prints_working_credentials_once_as_json():
    """R3: the printed secrets work, and only their hashes are stored."""
    info = create()
    assert set(info) >= {
        "company_id",
        "shop_slug",
        "owner_email",
        "owner_password",
        "api_key",
        "interface_id",
        "interface_password",
    }
    owner = User.objects.get(email="owner@example.com")
    assert owner.check_password(info["owner_password"])
    membership = Membership.objects.for_company(info["company_id"]).get(user=owner)
    assert membership.role == Role.OWNER
    shop = Shop.objects.for_company(info["company_id"]).get(slug=info["shop_slug"])
    assert shop_for_interface(info["interface_id"], info["interface_password"]) == shop
    assert shop_for_interface(info["interface_id"], "wrong") is None
    stored_key = ApiKey.objects.for_company(info["company_id"]).values().get()
    assert info["api_key"] not in {str(v) for v in stored_key.values()}
    assert info["interface_password"] not in shop.interface_password_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {info['api_key']}")
    assert client.get("/api/v1/products").status_code == 200


def test_it_refuses_an_email_that_already_has_a_login():
    create()
    with pytest.raises(CommandError, match="already exists"):
        create()
    assert Shop.objects.unscoped().count() == 1
