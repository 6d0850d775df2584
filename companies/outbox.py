"""Emails to a company's own people, each sent at most once (STYLE.md 4).

Use from a Celery task that takes ids::

    send_company_email(company_id=c.pk, key=f"invoice:{invoice.pk}", build=lambda: message)

``build`` returns an ``EmailMessage`` (or None when there is nobody to tell); the recipients are
looked up inside it, at send time, e.g. with :func:`company_addresses`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import EmailMessage

from companies.models import CompanyEmail, Membership, Role
from companies.tenancy import tenant_scope
from ekomi import outbox


def company_addresses(company_id: int, roles: Iterable[str] = (Role.OWNER,)) -> list[str]:
    """The addresses of the company's active members with one of ``roles``."""
    members = Membership.objects.for_company(company_id).filter(
        role__in=list(roles), user__is_active=True
    )
    return sorted({m.user.email for m in members.select_related("user")})


def _message_id(company_id: int, key: str) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "localhost"
    safe = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in key)
    return f"<company-{company_id}-{safe}@{domain}>"


def send_company_email(
    *, company_id: int, key: str, build: Callable[[], EmailMessage | None]
) -> str:
    """Send ``build()`` once for ``key``: "sent", "skipped" (nobody to send to) or "already"."""
    with tenant_scope(company_id):
        return outbox.send_once(
            CompanyEmail,
            lookup={"company_id": company_id, "key": key},
            defaults={"message_id": _message_id(company_id, key)},
            build=build,
        )
