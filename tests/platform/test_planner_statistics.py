"""Postgres planner statistics the migrations add for the hot reads (bench/README.md).

No timings: what is asserted is what the planner believes, which is what the statistics are for.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from seals.models import SealStatus
from tests import factories
from tests.seals.conftest import make_reviews

pytestmark = pytest.mark.django_db


def _estimated_rows(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"]


def test_it_lets_the_planner_know_how_many_reviews_a_shop_has():
    """LO-2: with company_id and shop_id filtered together, the planner expects a shop's real
    number of reviews, not the product of two independent selectivities (which made it scan and
    sort a shop's whole history for one page of the certificate)."""
    shops = [factories.ShopFactory(company=factories.CompanyFactory()) for _ in range(10)]
    for shop in shops:
        make_reviews(shop, [5, 4] * 100)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reviews_review")
    shop = shops[3]
    estimate = _estimated_rows(
        "SELECT id FROM reviews_review WHERE company_id = %s AND shop_id = %s",
        [shop.company_id, shop.pk],
    )
    assert 100 <= estimate <= 400  # 200 in fact; independent columns would say 20


def test_it_keeps_room_for_the_nightly_rewrite_of_seal_statuses():
    """R26: the sweep rewrites every status each night; half-empty pages keep it in place."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", [SealStatus._meta.db_table]
        )
        assert "fillfactor=50" in (cursor.fetchone()[0] or [])
        cursor.execute("SELECT stxname FROM pg_statistic_ext ORDER BY stxname")
        names = {row[0] for row in cursor.fetchall()}
    assert {"review_company_shop_dependencies", "review_shop_product_groups"} <= names
