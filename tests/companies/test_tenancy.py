"""Tenancy guards: scoped managers, access helpers, the API base class (R4, TI-4)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django_scopes import ScopeError

from companies.api import ShopScopedViewSet
from companies.models import Company, Shop
from companies.selectors import access_product, access_shop
from companies.tenancy import TenantManager, TenantModel, cross_tenant, tenant_scope
from reviews.models import Review
from tests import factories


def tenant_models():
    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


def models_with_company_fk():
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Company:
                found.append(model)
                break
    return found


def test_it_uses_the_scoped_manager_on_every_model_with_a_company_fk():
    """TI-4(c): a new model with a company foreign key must use the fail-closed manager."""
    models = models_with_company_fk()
    assert len(models) >= 10
    for model in models:
        assert issubclass(model, TenantModel), model
        assert isinstance(model._default_manager, TenantManager), model
        assert model._default_manager.name == "objects", model


@pytest.mark.django_db
@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_it_refuses_a_query_without_a_company_scope(model):
    """TI-4(b): a tenant query that names no company raises instead of returning every tenant."""
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()
    with pytest.raises(ScopeError):
        model.objects.count()


@pytest.mark.django_db
def test_it_filters_every_query_to_the_active_company(shop, other_shop):
    """R4: inside a company's scope, another company's rows do not exist."""
    with tenant_scope(shop.company):
        assert list(Shop.objects.all()) == [shop]
        assert not Shop.objects.filter(pk=other_shop.pk).exists()
    with cross_tenant():
        assert Shop.objects.count() == 2


@pytest.mark.django_db
def test_it_names_the_company_with_for_company(shop, other_shop):
    assert list(Shop.objects.for_company(other_shop.company)) == [other_shop]
    assert list(Shop.objects.for_company(shop.company_id)) == [shop]


@pytest.mark.django_db
def test_it_answers_a_foreign_object_like_a_missing_one(shop, other_shop):
    """R4, TI-1: the access helper gives the same 404 for another company's id and a missing id."""
    assert access_shop(company=shop.company, shop_id=shop.pk) == shop
    with pytest.raises(Http404) as foreign:
        access_shop(company=shop.company, shop_id=other_shop.pk)
    with pytest.raises(Http404) as missing:
        access_shop(company=shop.company, shop_id=10**9)
    assert str(foreign.value) == str(missing.value)
    product = factories.ProductFactory(shop=other_shop, product_id="P-1")
    with pytest.raises(Http404):
        access_product(shop=shop, product_id=product.product_id)


@pytest.mark.django_db
def test_it_refuses_in_python_a_row_whose_shop_belongs_to_another_company(shop, other_shop):
    """Orphan guard: a review of company A cannot point at company B's shop."""
    invitation = factories.InvitationFactory(shop=shop)
    review = Review(
        company=shop.company,
        shop=other_shop,
        invitation=invitation,
        kind=Review.Kind.MERCHANT,
        rating=5,
        submitted_at=invitation.created_at,
    )
    with pytest.raises(ValidationError):
        review.save()
    with cross_tenant():
        assert not Review.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_in_the_database_a_row_pointing_into_another_company(shop, other_shop):
    """Orphan guard in Postgres: bulk writes skip save(), the composite foreign key still holds."""
    review = Review(
        company=shop.company,
        shop=other_shop,
        kind=Review.Kind.MERCHANT,
        rating=4,
        is_transaction_based=False,
        submitted_at=shop.created_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.unscoped().bulk_create([review])
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with cross_tenant():
        assert Review.objects.count() == 0


def tenant_relations():
    for model in tenant_models():
        for field in model._meta.concrete_fields:
            if (
                field.is_relation
                and field.name != "company"
                and isinstance(field.related_model, type)
                and issubclass(field.related_model, TenantModel)
            ):
                yield model, field


@pytest.mark.django_db
def test_it_has_a_composite_tenant_foreign_key_for_every_relation_between_tenant_rows():
    """TI-4: every tenant-to-tenant relation is also (x_id, company_id) in Postgres."""
    relations = list(tenant_relations())
    assert len(relations) >= 15
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT rel.relname, array_agg(att.attname ORDER BY att.attname)
            FROM pg_constraint con
            JOIN pg_class rel ON rel.oid = con.conrelid
            JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey)
            WHERE con.contype = 'f'
            GROUP BY con.oid, rel.relname
            """
        )
        composite = {(table, tuple(cols)) for table, cols in cursor.fetchall()}
    for model, field in relations:
        expected = (model._meta.db_table, tuple(sorted([field.column, "company_id"])))
        assert expected in composite, f"{model._meta.label}.{field.name} has no tenant FK"


def test_it_refuses_an_api_view_that_overrides_get_queryset():
    """TI-4(a): the API base class fails at class definition, not in production."""
    with pytest.raises(TypeError, match="get_queryset"):

        class Leaky(ShopScopedViewSet):  # noqa: F841
            def get_queryset(self):
                return Shop.objects.unscoped()

    with pytest.raises(TypeError, match="get_object"):

        class Leaky2(ShopScopedViewSet):  # noqa: F841
            def get_object(self):
                return None


@pytest.mark.django_db
def test_it_leaves_the_session_alone_on_public_pages(client, owner, shop):
    """TI-5: a logged-in visitor's session never shapes a public page or its cache."""
    client.force_login(owner)
    response = client.get(f"/c/{shop.slug}/")
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
    assert "sessionid" not in response.cookies
