"""Matrix rows for the billing area (R33, R34, R40)."""

from __future__ import annotations

import datetime

from billing import services
from tests import factories

ROWS = {
    # B's own billing page: B has no contract, so nothing of A's shows.
    "billing": ("get", "/backend/billing/", {}, 200),
    "billing-invoice-pdf": ("get", "/backend/billing/invoices/{invoice}/pdf/", {}, 404),
    # Termination and upgrade name no object: they act on B's own contract (none here: 404).
    "billing-terminate": ("post", "/backend/billing/terminate/", {"confirm": "on"}, 404),
    "billing-upgrade": ("post", "/backend/billing/upgrade/", {"plan": "{plan}"}, 404),
}


def seed(company, shop) -> dict:
    plan = factories.PlanFactory(upgrade_offer=True, price_per_period=999)
    contract = factories.ContractFactory(company=company, starts_on=datetime.date(2026, 2, 1))
    services.billing_run(today=datetime.date(2026, 2, 1))
    invoice = services.invoice_issue_for_period(contract=contract, period_start=contract.starts_on)
    return {"invoice": invoice.pk, "plan": plan.pk}
