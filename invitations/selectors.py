"""Reads for invitations: the rating link's token (R9, AU-1) and the backend's lists (TI-1)."""

from __future__ import annotations

import datetime
import re

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from companies.models import Company, Shop
from companies.tenancy import access_object
from invitations import tokens
from invitations.models import EmailTemplate, Invitation, InvitationEmail, OrderImport

# Tokens are 43 URL-safe base64 characters; anything else is not worth a database lookup.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation whose link carries ``token``, found through the unique index on its hash."""
    if not TOKEN_PATTERN.match(token):
        return None
    # Cross-tenant by nature: the token itself names the tenant.
    return (
        Invitation.objects.unscoped()
        .select_related("shop", "shop__company", "order")
        .filter(token_hash=tokens.hash_token(token))
        .first()
    )


# --- The customer backend's invitation pages (R5-R8, TI-1) -------------------------------------


def invitation_list(
    *,
    shop: Shop,
    status: str = "",
    created_from: datetime.date | None = None,
    created_to: datetime.date | None = None,
    order_id: str = "",
) -> QuerySet[Invitation]:
    """The shop's invitations, newest first, with their order and the last reminder's date.

    One query for any page: the order is joined, the reminder date is an aggregate.
    """
    invitations = (
        Invitation.objects.for_company(shop.company_id)
        .filter(shop=shop)
        .select_related("order")
        .annotate(reminded_at=Max("emails__sent_at", filter=Q(emails__kind__startswith="reminder")))
        .order_by("-created_at", "-pk")
    )
    if status:
        invitations = invitations.filter(status=status)
    if created_from:
        invitations = invitations.filter(created_at__gte=_day_start(created_from))
    if created_to:
        invitations = invitations.filter(created_at__lt=_day_start(created_to, days=1))
    if order_id:
        invitations = invitations.filter(order__order_id__icontains=order_id)
    return invitations


def _day_start(day: datetime.date, *, days: int = 0) -> datetime.datetime:
    """Midnight of ``day`` (+ ``days``) in the platform's time zone, as the backend shows dates."""
    moment = datetime.datetime.combine(day + datetime.timedelta(days=days), datetime.time())
    return timezone.make_aware(moment, timezone.get_default_timezone())


def access_invitation(*, company: Company | int, public_id) -> Invitation:
    """One invitation of ``company`` by its public id; another company's is a 404 (R4)."""
    return access_object(Invitation, company=company, public_id=public_id)


def invitation_emails(*, invitation: Invitation) -> QuerySet[InvitationEmail]:
    return (
        InvitationEmail.objects.for_company(invitation.company_id)
        .filter(invitation=invitation)
        .order_by("pk")
    )


def order_import_list(*, shop: Shop, limit: int = 20) -> list[OrderImport]:
    """The shop's latest CSV imports, newest first."""
    return list(
        OrderImport.objects.for_company(shop.company_id)
        .filter(shop=shop)
        .order_by("-created_at", "-pk")[:limit]
    )


def access_order_import(*, company: Company | int, public_id) -> OrderImport:
    """One CSV import of ``company`` by its public id; another company's is a 404 (R4, TI-1)."""
    return access_object(OrderImport, company=company, public_id=public_id)


def email_template_overrides(*, shop: Shop) -> dict[tuple[str, str], EmailTemplate]:
    """The shop's own templates by ``(kind, locale)``."""
    templates = EmailTemplate.objects.for_company(shop.company_id).filter(shop=shop)
    return {(template.kind, template.locale): template for template in templates}


def email_template_for(*, shop: Shop, kind: str, locale: str) -> EmailTemplate | None:
    return (
        EmailTemplate.objects.for_company(shop.company_id)
        .filter(shop=shop, kind=kind, locale=locale)
        .first()
    )
