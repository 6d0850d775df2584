"""Sanctions for breaches (R47, 001 §8): warning with a grace period, then restriction or block
(the R30 actions of ``moderation.enforcement``), reinstatement; each step recorded with reason
and dates, the company told by email, blocking and reinstatement with the handling fee of the
fee schedule invoiced through billing."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Contract, Invoice
from billing.services import charge_invoice_issue
from companies.models import Company, Shop
from moderation.enforcement import ENFORCEMENT_ACTIONS, shop_enforce
from moderation.models import ENFORCEMENT_REASONS, ModerationLogEntry, Reason
from moderation.services import ModerationError
from terms.models import HandlingFee, Sanction, SanctionStep
from terms.services import TermsError

Action = ModerationLogEntry.Action
Kind = SanctionStep.Kind
Stage = Sanction.Stage

# The partial restrictions staff may choose (001 §8.1 "restrict ... partially"), with the
# action that undoes each at reinstatement.
RESTRICTIONS = {
    Action.RATINGS_STOP: Action.RATINGS_RESUME,
    Action.PUBLIC_PAGES_DISABLE: Action.PUBLIC_PAGES_ENABLE,
    Action.SEAL_SUSPEND: Action.SEAL_REINSTATE,
}
GROUNDS = tuple(str(r) for r in ENFORCEMENT_REASONS if r != Reason.RESOLVED)
if not set(RESTRICTIONS) <= set(ENFORCEMENT_ACTIONS):  # moderation renamed an action
    raise ImportError("terms.sanctions: unknown R30 enforcement action")


def _step(sanction: Sanction, kind: str, *, actor, reason: str, now, **extra) -> SanctionStep:
    step = SanctionStep.objects.for_company(sanction.company_id).create(
        company_id=sanction.company_id,
        sanction=sanction,
        kind=kind,
        reason=reason.strip(),
        taken_at=now,
        actor=actor,
        **extra,
    )
    from terms.tasks import send_sanction_step_email

    transaction.on_commit(lambda: send_sanction_step_email.delay(step.pk))
    return step


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise TermsError(_("Write down the reason: the company is told it."))


def sanction_warn(
    *, company: Company, actor, ground: str, breach: str, grace_days: int, now=None
) -> Sanction:
    """001 §8.2: first a warning with a grace period to end the breach."""
    now = now or timezone.now()
    if ground not in GROUNDS:
        raise TermsError(_("Choose one of the enforcement reasons (R30)."))
    _require_reason(breach)
    if grace_days < 1:
        raise TermsError(_("A warning needs a grace period of at least one day."))
    grace_until = timezone.localdate(now) + datetime.timedelta(days=grace_days)
    with transaction.atomic():
        sanction = Sanction.objects.for_company(company).create(
            company=company, ground=ground, breach=breach.strip(), grace_until=grace_until
        )
        _step(sanction, Kind.WARNING, actor=actor, reason=breach, now=now, grace_until=grace_until)
    return sanction


def _locked(sanction: Sanction) -> Sanction:
    return Sanction.objects.for_company(sanction.company_id).select_for_update().get(pk=sanction.pk)


def _require_grace_over(sanction: Sanction, now) -> None:
    if timezone.localdate(now) <= sanction.grace_until:
        raise TermsError(
            _("The grace period runs until %(date)s; act after it.")
            % {"date": f"{sanction.grace_until:%d/%m/%Y}"}
        )


def _enforce_on_shops(sanction: Sanction, actor, action: str, reason: str) -> list[int]:
    """Take ``action`` on every shop of the company; return the shops it changed."""
    changed = []
    for shop_id in Shop.objects.for_company(sanction.company_id).values_list("pk", flat=True):
        try:
            shop_enforce(
                shop_id=shop_id,
                actor=actor,
                action=action,
                reason=sanction.ground if action in RESTRICTIONS else Reason.RESOLVED,
                justification=reason,
            )
        except ModerationError:  # the shop is in that state already: not ours to undo later
            continue
        changed.append(shop_id)
    return changed


def sanction_restrict(*, sanction: Sanction, actor, actions: list[str], reason: str, now=None):
    """001 §8.1: restrict access partially after the grace period ended without a remedy."""
    now = now or timezone.now()
    _require_reason(reason)
    if not actions or not set(actions) <= set(RESTRICTIONS):
        raise TermsError(_("Choose at least one restriction."))
    with transaction.atomic():
        sanction = _locked(sanction)
        if sanction.stage != Stage.WARNED:
            raise TermsError(_("Only a warned company can be restricted."))
        _require_grace_over(sanction, now)
        taken = [
            {"action": action, "shops": _enforce_on_shops(sanction, actor, action, reason)}
            for action in actions
        ]
        sanction.stage = Stage.RESTRICTED
        sanction.save(update_fields=["stage", "updated_at"])
        return _step(sanction, Kind.RESTRICTION, actor=actor, reason=reason, now=now, actions=taken)


def _block_company(sanction: Sanction, actor, reason: str) -> list[dict]:
    shop = Shop.objects.for_company(sanction.company_id).order_by("pk").first()
    if shop is None:  # no shop to act through: the company row alone carries the block
        Company.objects.filter(pk=sanction.company_id).update(status=Company.Status.BLOCKED)
    else:
        shop_enforce(
            shop_id=shop.pk,
            actor=actor,
            action=Action.COMPANY_BLOCK,
            reason=sanction.ground,
            justification=reason,
        )
    return [{"action": str(Action.COMPANY_BLOCK), "shops": [shop.pk] if shop else []}]


def _fee_invoice(sanction: Sanction, kind: str, today: datetime.date) -> Invoice | None:
    """001 §8.4: the handling fee of the schedule, one invoice per sanction and step."""
    fee = HandlingFee.objects.filter(kind=kind).first()
    contract = Contract.objects.for_company(sanction.company_id).order_by("-concluded_on").first()
    if fee is None or not fee.amount or contract is None:
        return None
    label = HandlingFee.Kind(kind).label
    return charge_invoice_issue(
        contract=contract,
        key=f"sanction-fee:{sanction.pk}:{kind}",
        lines=[(f"Handling fee: {label} (sanction {sanction.pk})", Decimal(1), fee.amount)],
        issued_on=today,
        reason=f"Handling fee, 001 §8.4 (sanction {sanction.pk})",
    )


def sanction_block(*, sanction: Sanction, actor, reason: str, charge_fee: bool, now=None):
    """001 §8.1: block backend access when the breach continues; optionally the fee."""
    now = now or timezone.now()
    _require_reason(reason)
    with transaction.atomic():
        sanction = _locked(sanction)
        if sanction.stage not in (Stage.WARNED, Stage.RESTRICTED):
            raise TermsError(_("Only a warned or restricted company can be blocked."))
        _require_grace_over(sanction, now)
        try:
            taken = _block_company(sanction, actor, reason)
        except ModerationError as exc:
            raise TermsError(str(exc)) from exc
        fee = None
        if charge_fee:
            fee = _fee_invoice(sanction, HandlingFee.Kind.BLOCK, timezone.localdate(now))
        sanction.stage = Stage.BLOCKED
        sanction.save(update_fields=["stage", "updated_at"])
        return _step(
            sanction,
            Kind.BLOCK,
            actor=actor,
            reason=reason,
            now=now,
            actions=taken,
            fee_invoice=fee,
        )


def _undo(sanction: Sanction, actor, reason: str) -> list[dict]:
    steps = SanctionStep.objects.for_company(sanction.company_id).filter(sanction=sanction)
    undone = []
    for step in steps:
        for taken in step.actions:
            action = taken["action"]
            if action == Action.COMPANY_BLOCK:
                _unblock(sanction, actor, reason, taken["shops"])
                undone.append({"action": str(Action.COMPANY_UNBLOCK), "shops": taken["shops"]})
            elif action in RESTRICTIONS:
                for shop_id in taken["shops"]:
                    shop_enforce(
                        shop_id=shop_id,
                        actor=actor,
                        action=RESTRICTIONS[action],
                        reason=Reason.RESOLVED,
                        justification=reason,
                    )
                undone.append({"action": str(RESTRICTIONS[action]), "shops": taken["shops"]})
    return undone


def _unblock(sanction: Sanction, actor, reason: str, shop_ids: list[int]) -> None:
    if not shop_ids:
        Company.objects.filter(pk=sanction.company_id).update(status=Company.Status.ACTIVE)
        return
    shop_enforce(
        shop_id=shop_ids[0],
        actor=actor,
        action=Action.COMPANY_UNBLOCK,
        reason=Reason.RESOLVED,
        justification=reason,
    )


def sanction_reinstate(*, sanction: Sanction, actor, reason: str, charge_fee: bool, now=None):
    """Undo every R30 action this sanction took and close it; optionally the fee (001 §8.4)."""
    now = now or timezone.now()
    _require_reason(reason)
    with transaction.atomic():
        sanction = _locked(sanction)
        if sanction.stage not in (Stage.RESTRICTED, Stage.BLOCKED):
            raise TermsError(_("Only a restricted or blocked company can be reinstated."))
        try:
            undone = _undo(sanction, actor, reason)
        except ModerationError as exc:
            raise TermsError(str(exc)) from exc
        fee = None
        if charge_fee and sanction.stage == Stage.BLOCKED:
            fee = _fee_invoice(sanction, HandlingFee.Kind.REINSTATEMENT, timezone.localdate(now))
        sanction.stage = Stage.CLOSED
        sanction.save(update_fields=["stage", "updated_at"])
        return _step(
            sanction,
            Kind.REINSTATEMENT,
            actor=actor,
            reason=reason,
            now=now,
            actions=undone,
            fee_invoice=fee,
        )


def sanction_close(*, sanction: Sanction, actor, reason: str, now=None) -> SanctionStep:
    """The breach ended within the grace period: close the warning without further steps."""
    now = now or timezone.now()
    _require_reason(reason)
    with transaction.atomic():
        sanction = _locked(sanction)
        if sanction.stage != Stage.WARNED:
            raise TermsError(_("Only a warning can be closed; reinstate a restricted company."))
        sanction.stage = Stage.CLOSED
        sanction.save(update_fields=["stage", "updated_at"])
        return _step(sanction, Kind.CLOSURE, actor=actor, reason=reason, now=now)
