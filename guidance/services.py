"""Writes of the guidance app: dismissing a general tip (R48)."""

from __future__ import annotations

from companies.models import Shop, User
from guidance.models import Tip, TipDismissal


def tip_dismiss(*, user: User, shop: Shop, tip: str) -> TipDismissal:
    """Hide ``tip`` for ``user`` on ``shop``. Safe to run twice: the second call finds the row."""
    dismissal, _created = TipDismissal.objects.for_company(shop.company_id).get_or_create(
        company_id=shop.company_id, shop=shop, user=user, tip=Tip(tip).value
    )
    return dismissal
