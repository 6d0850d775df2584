"""Writes behind the settings page: shop settings, notification preferences, newsletter consent
and the requests that need platform staff (R7, R8, R14, R41, 004 §6.5, §6.9)."""

from __future__ import annotations

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from companies.models import (
    Company,
    NewsletterConsent,
    NotificationPreference,
    SettingsRequest,
    Shop,
    User,
)

logger = logging.getLogger(__name__)

SHOP_SETTINGS_FIELDS = (
    "invitation_delay_days",
    "delay_basis",
    "reminder_count",
    "reminder_interval_days",
    "default_locale",
    "non_transaction_reviews_enabled",
)


class RequestConflict(Exception):
    """The shop already has a request of this kind waiting for staff."""


class RequestNotPending(Exception):
    """Only a pending request can be decided or withdrawn."""


# --- Shop settings (R7, R14) ----------------------------------------------------------------


def shop_settings_update(*, shop: Shop, **values) -> Shop:
    """Store the company-editable settings of ``shop`` (validated by the form)."""
    unknown = set(values) - set(SHOP_SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"not a company setting: {sorted(unknown)}")
    for name, value in values.items():
        setattr(shop, name, value)
    shop.save(update_fields=[*values, "updated_at"])
    return shop


# --- Notification preferences (R41) -----------------------------------------------------------


def notification_preferences(*, company: Company | int, user: User) -> NotificationPreference:
    """The user's preferences for ``company``; the defaults (unsaved) if never chosen."""
    company_id = company if isinstance(company, int) else company.pk
    found = NotificationPreference.objects.for_company(company_id).filter(user=user).first()
    return found or NotificationPreference(company_id=company_id, user=user)


def notification_preferences_set(
    *, company: Company | int, user: User, **flags: bool
) -> NotificationPreference:
    company_id = company if isinstance(company, int) else company.pk
    allowed = set(NotificationPreference.Topic.values)
    if set(flags) - allowed:
        raise ValueError(f"unknown notification: {sorted(set(flags) - allowed)}")
    preference, _created = NotificationPreference.objects.for_company(company_id).update_or_create(
        company_id=company_id, user=user, defaults=flags
    )
    return preference


# --- Newsletter consent (R41, 000 §5): append-only periods ------------------------------------


def newsletter_opt_in(
    *, user: User, source: str, now: datetime.datetime | None = None
) -> NewsletterConsent:
    """Record consent; an existing open consent stays as it was (first source and time)."""
    current = NewsletterConsent.objects.filter(user=user, withdrawn_at__isnull=True).first()
    if current is not None:
        return current
    try:
        with transaction.atomic():
            return NewsletterConsent.objects.create(
                user=user, given_at=now or timezone.now(), source=source
            )
    except IntegrityError:  # a concurrent opt-in won; its record stands
        return NewsletterConsent.objects.get(user=user, withdrawn_at__isnull=True)


def newsletter_opt_out(
    *, user: User, source: str, now: datetime.datetime | None = None
) -> NewsletterConsent | None:
    """Close the open consent with the time and way of the opt-out; None if there was none."""
    current = NewsletterConsent.objects.filter(user=user, withdrawn_at__isnull=True).first()
    if current is None:
        return None
    NewsletterConsent.objects.filter(pk=current.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=max(now or timezone.now(), current.given_at), withdrawal_source=source
    )
    current.refresh_from_db()
    return current


def unsubscribe_apply(*, user: User, topic: str, company: Company | None) -> None:
    """One-click unsubscribe (RFC 8058): turn off exactly what the link names."""
    from companies.notifications import NEWSLETTER

    if topic == NEWSLETTER:
        newsletter_opt_out(user=user, source=NewsletterConsent.Source.UNSUBSCRIBE_LINK)
        return
    notification_preferences_set(company=company, user=user, **{topic: False})
    logger.info("user %s turned off %s for company %s", user.pk, topic, company.pk)


# --- Requests that need staff approval (R8, 004 §6.5, §6.9) -----------------------------------


def settings_request_create(
    *, shop: Shop, kind: str, requested_by: User | None, **fields
) -> SettingsRequest:
    """A pending request; a second pending one of the same kind for the shop is refused."""
    if (
        SettingsRequest.objects.for_company(shop.company_id)
        .filter(shop=shop, kind=kind, status=SettingsRequest.Status.PENDING)
        .exists()
    ):
        raise RequestConflict(kind)
    try:
        with transaction.atomic():
            return SettingsRequest.objects.for_company(shop.company_id).create(
                company_id=shop.company_id,
                shop=shop,
                kind=kind,
                requested_by=requested_by,
                **fields,
            )
    except IntegrityError as exc:  # the partial unique constraint: a concurrent request
        raise RequestConflict(kind) from exc


def settings_request_withdraw(*, settings_request: SettingsRequest) -> None:
    changed = (
        SettingsRequest.objects.for_company(settings_request.company_id)
        .filter(pk=settings_request.pk, status=SettingsRequest.Status.PENDING)
        .update(status=SettingsRequest.Status.WITHDRAWN, updated_at=timezone.now())
    )
    if not changed:
        raise RequestNotPending(settings_request.pk)


def _decide(settings_request: SettingsRequest, status: str, staff: User, note: str, now):
    """Lock the pending request, stamp the decision; returns the locked row."""
    locked = (
        SettingsRequest.objects.for_company(settings_request.company_id)
        .select_for_update()
        .filter(pk=settings_request.pk, status=SettingsRequest.Status.PENDING)
        .first()
    )
    if locked is None:
        raise RequestNotPending(settings_request.pk)
    locked.status = status
    locked.decided_by = staff
    locked.decided_at = now
    locked.decision_note = note.strip()
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    return locked


def _announce(settings_request: SettingsRequest) -> None:
    from companies.tasks import send_settings_request_decision

    request_id = settings_request.pk
    transaction.on_commit(lambda: send_settings_request_decision.delay(request_id))


def settings_request_approve(
    *,
    settings_request: SettingsRequest,
    staff: User,
    note: str = "",
    now: datetime.datetime | None = None,
) -> SettingsRequest:
    """Apply the request to its shop and tell the company (R8)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _decide(settings_request, SettingsRequest.Status.APPROVED, staff, note, now)
        shops = Shop.objects.for_company(locked.company_id).select_for_update()
        shop = shops.get(pk=locked.shop_id)
        if locked.kind == SettingsRequest.Kind.PAUSE:
            shop.invitations_paused_from = locked.pause_from
            shop.invitations_paused_until = locked.pause_until
            fields = ["invitations_paused_from", "invitations_paused_until"]
        else:
            shop.selection_group_criteria = locked.criteria
            shop.selection_group_approved_at = now
            shop.selection_group_approved_by = staff
            fields = [
                "selection_group_criteria",
                "selection_group_approved_at",
                "selection_group_approved_by",
            ]
        shop.save(update_fields=[*fields, "updated_at"])
        _announce(locked)
    logger.info("settings request %s approved by staff user %s", locked.pk, staff.pk)
    return locked


def settings_request_refuse(
    *,
    settings_request: SettingsRequest,
    staff: User,
    note: str,
    now: datetime.datetime | None = None,
) -> SettingsRequest:
    """Refuse with a reason the company reads; the shop stays as it is."""
    if not note.strip():
        raise ValueError("a refusal needs a reason")
    with transaction.atomic():
        locked = _decide(
            settings_request, SettingsRequest.Status.REFUSED, staff, note, now or timezone.now()
        )
        _announce(locked)
    logger.info("settings request %s refused by staff user %s", locked.pk, staff.pk)
    return locked
