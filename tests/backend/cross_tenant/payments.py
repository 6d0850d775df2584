"""Matrix rows for the payment page (SEPA mandate, R35)."""

from __future__ import annotations

import datetime

from payments.services import mandate_create

ROWS = {
    # B's own payment page: B's mandate only; posting a mandate creates B's, never A's.
    "payment": ("get", "/backend/billing/payment/", {}, 200),
    "payment-mandate-revoke": (
        "post",
        "/backend/billing/payment/mandates/{mandate}/revoke/",
        {},
        404,
    ),
}


def seed(company, shop) -> dict:
    mandate = mandate_create(
        company=company,
        account_holder="ACME-A Holder",
        iban="DE89370400440532013000",
        signed_on=datetime.date(2026, 1, 2),
    )
    return {"mandate": mandate.pk}
