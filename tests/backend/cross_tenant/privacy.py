"""Matrix rows for the Data page (/backend/data/: exports, erasure, retention; R42, TI-1)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from privacy.models import DataExport
from tests import factories

ROWS = {
    # B's own page and B's own requests: nothing of A is shown or touched.
    "data": ("get", "/backend/data/", {}, 200),
    "data-export-company": ("post", "/backend/data/exports/company/", {}, 302),
    # A's order id asked by B: B's own export request, which finds nothing of A.
    "data-export-evaluator": (
        "post",
        "/backend/data/exports/evaluator/",
        {"export-order_id": "{privacy_order_id}"},
        302,
    ),
    "data-export-download": (
        "get",
        "/backend/data/exports/{privacy_export}/download/",
        {},
        404,
    ),
    # A's evaluator erased by B: answered like a missing one, nothing of A changes.
    "data-erase": (
        "post",
        "/backend/data/erase/",
        {
            "erase-order_id": "{privacy_order_id}",
            "erase-mode": "delete",
            "erase-confirm": "on",
        },
        404,
    ),
    "data-retention": ("post", "/backend/data/retention/", {"invitation_retention_days": "9"}, 302),
}


def seed(company, shop) -> dict:
    invitation = factories.InvitationFactory(shop=shop, order__order_id="PRIV-ORDER-771")
    factories.ReviewFactory(shop=shop, invitation=invitation)
    now = timezone.now()
    export = DataExport.objects.for_company(company).create(
        company=company,
        kind=DataExport.Kind.COMPANY,
        status=DataExport.Status.READY,
        file_path=f"exports/{company.pk}/matrix.zip",
        ready_at=now,
        expires_at=now + datetime.timedelta(days=7),
    )
    return {"privacy_order_id": invitation.order.order_id, "privacy_export": export.pk}
