"""Enforcement on a shop and its company (R30, 004 §6.11, §7.10).

Staff can, each with a reason and a log entry: disable the widget and certificate page, stop new
ratings, suspend or withdraw the seal, block the company's backend access, and undo each of
these. After commit ``companies.signals.shop_enforcement_changed`` is sent for every shop
concerned; the public surfaces also read the flags on every request, so the change shows at once
(the seals app retires only that shop's cached responses, TI-5).

Blocking backend access sets ``Company.status`` to blocked; the backend, when it exists, must
refuse a blocked company's users (and ``Shop.is_public`` already turns its public pages off).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from companies.models import Company, SealState, Shop
from companies.signals import shop_enforcement_changed
from companies.tenancy import tenant_scope
from moderation import log
from moderation.models import ENFORCEMENT_REASONS, ModerationLogEntry
from moderation.services import ModerationError, company_of, require_reason

Action = ModerationLogEntry.Action


@dataclass(frozen=True)
class Change:
    field: str  # a Shop field, or "company_status"
    value: object
    refuse_if: tuple = ()  # current values from which the change makes no sense


CHANGES: dict[str, Change] = {
    Action.PUBLIC_PAGES_DISABLE: Change("public_pages_disabled", True),
    Action.PUBLIC_PAGES_ENABLE: Change("public_pages_disabled", False),
    Action.RATINGS_STOP: Change("ratings_stopped", True),
    Action.RATINGS_RESUME: Change("ratings_stopped", False),
    Action.SEAL_SUSPEND: Change("seal_state", SealState.SUSPENDED),
    Action.SEAL_WITHDRAW: Change("seal_state", SealState.WITHDRAWN),
    Action.SEAL_REINSTATE: Change("seal_state", SealState.ACTIVE),
    Action.COMPANY_BLOCK: Change(
        "company_status", Company.Status.BLOCKED, refuse_if=(Company.Status.ENDED,)
    ),
    Action.COMPANY_UNBLOCK: Change(
        "company_status", Company.Status.ACTIVE, refuse_if=(Company.Status.ENDED,)
    ),
}
ENFORCEMENT_ACTIONS = tuple(CHANGES)


def enforcement_state(shop: Shop) -> dict:
    return {
        "public_pages_disabled": shop.public_pages_disabled,
        "ratings_stopped": shop.ratings_stopped,
        "seal_state": shop.seal_state,
        "company_status": shop.company.status,
    }


def _apply(shop: Shop, change: Change) -> list[int]:
    """Change the row; return the ids of the shops whose public surfaces change."""
    if change.field == "company_status":
        company = Company.objects.select_for_update().get(pk=shop.company_id)
        if company.status in change.refuse_if or company.status == change.value:
            raise ModerationError(f"The company is {company.get_status_display()} already.")
        company.status = change.value
        company.save(update_fields=["status", "updated_at"])
        shop.company = company
        return list(Shop.objects.filter(company_id=company.pk).values_list("pk", flat=True))
    if getattr(shop, change.field) == change.value:
        raise ModerationError("The shop is in that state already.")
    setattr(shop, change.field, change.value)
    shop.save(update_fields=[change.field, "updated_at"])
    return [shop.pk]


def shop_enforce(*, shop_id: int, actor, action: str, reason: str, justification: str) -> Shop:
    """Take one enforcement action on a shop (or its company), with a reason and a log entry."""
    change = CHANGES.get(action)
    if change is None:
        raise ModerationError("Unknown enforcement action.")
    require_reason(reason, justification, allowed=ENFORCEMENT_REASONS)
    if not justification.strip():
        raise ModerationError("Write down why (R30): the company may ask.")
    company_id = company_of(Shop, shop_id)
    with tenant_scope(company_id), transaction.atomic():
        shop = Shop.objects.select_for_update().select_related("company").get(pk=shop_id)
        before = enforcement_state(shop)
        changed = _apply(shop, change)
        log.log_append(
            company_id=company_id,
            shop_id=shop.pk,
            actor=actor,
            action=action,
            target_type="company" if change.field == "company_status" else "shop",
            target_id=company_id if change.field == "company_status" else shop.pk,
            reason=reason,
            justification=justification.strip(),
            before=before,
            after=enforcement_state(shop),
        )
        transaction.on_commit(lambda: _announce(company_id, changed, action))
    return shop


def _announce(company_id: int, shop_ids: list[int], action: str) -> None:
    for shop_id in shop_ids:
        shop_enforcement_changed.send(
            sender=Shop, company_id=company_id, shop_id=shop_id, action=action
        )
