"""Writes for business sign-up, email confirmation and the team (R1, R2, AU-5)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from companies.models import Company, Membership, Role, User
from companies.selectors import membership_for
from companies.services import company_create, membership_create

CONFIRMATION_SALT = "companies.email-confirmation"
CONFIRMATION_MAX_AGE_SECONDS = 7 * 24 * 3600


def company_signup(
    *,
    company_name: str,
    street: str,
    postal_code: str,
    city: str,
    country: str,
    vat_id: str,
    shop_name: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
) -> User:
    """A company, its owner and first shop; the owner stays inactive until confirmed (R1)."""
    from companies.tasks import send_email_confirmation

    with transaction.atomic():
        created = company_create(
            name=company_name,
            shop_name=shop_name,
            owner_email=email,
            owner_password=password,
            country=country,
            owner_first_name=first_name,
            owner_last_name=last_name,
        )
        Company.objects.filter(pk=created.company.pk).update(
            street=street, postal_code=postal_code, city=city, vat_id=vat_id
        )
        User.objects.filter(pk=created.owner.pk).update(is_active=False, email_confirmed_at=None)
        owner_id = created.owner.pk
        transaction.on_commit(lambda: send_email_confirmation.delay(owner_id))
    return User.objects.get(pk=owner_id)


def email_confirmation_token(*, user: User) -> str:
    # The address is signed too, so a link stops working if the address changes.
    return signing.dumps({"u": user.pk, "e": user.email}, salt=CONFIRMATION_SALT)


def email_confirm(*, token: str) -> User | None:
    """Activate the account a valid, unexpired link names; None for a bad or stale link."""
    try:
        data = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    user = User.objects.filter(pk=data.get("u"), email=data.get("e")).first()
    if user is None:
        return None
    # Conditional update: confirming twice is harmless and never re-activates a disabled user.
    User.objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(
        is_active=True, email_confirmed_at=timezone.now()
    )
    user.refresh_from_db()
    return user


# --- Team: invitations by signed link, roles, removal (R2) --------------------------------------

TEAM_INVITATION_SALT = "companies.team-invitation"
TEAM_INVITATION_MAX_AGE_SECONDS = 7 * 24 * 3600


class LastOwnerError(Exception):
    """A company always keeps at least one owner (R2)."""


@dataclass(frozen=True)
class TeamInvitation:
    company: Company
    email: str
    role: str


def team_invitation_token(*, company: Company, email: str, role: str) -> str:
    return signing.dumps(
        {"c": company.pk, "e": email.strip().lower(), "r": role}, salt=TEAM_INVITATION_SALT
    )


def team_invitation_read(*, token: str) -> TeamInvitation | None:
    """The invitation a valid, unexpired link carries; None for a bad link or a closed company."""
    try:
        data = signing.loads(
            token, salt=TEAM_INVITATION_SALT, max_age=TEAM_INVITATION_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    company = Company.objects.filter(pk=data.get("c"), status=Company.Status.ACTIVE).first()
    if company is None or data.get("r") not in Role.values:
        return None
    return TeamInvitation(company=company, email=data["e"], role=data["r"])


def team_invite(*, company: Company, email: str, role: str, invited_by: User) -> None:
    """Email a signed invitation link to join ``company`` with ``role``."""
    token = team_invitation_token(company=company, email=email, role=role)
    # Sent in the request, not by a task: without an invitation row there is no id to queue, and
    # the address must not travel through the broker (STYLE.md 2).
    context = {
        "company": company,
        "inviter": invited_by,
        "role": Role(role).label,
        "join_url": settings.SITE_URL + reverse("accounts:join", args=[token]),
    }
    message = EmailMultiAlternatives(
        subject=render_to_string("emails/accounts/team_invitation_subject.txt", context).strip(),
        body=render_to_string("emails/accounts/team_invitation.txt", context),
        to=[email],
    )
    message.attach_alternative(
        render_to_string("emails/accounts/team_invitation.html", context), "text/html"
    )
    message.send()


def team_invitation_accept(*, invitation: TeamInvitation, user: User) -> Membership:
    """Add ``user`` to the company; an existing membership keeps its role (links are replayable)."""
    with transaction.atomic():
        existing = membership_for(user=user, company=invitation.company)
        if existing is not None:
            return existing
        return membership_create(company=invitation.company, user=user, role=invitation.role)


def team_member_signup(
    *, invitation: TeamInvitation, first_name: str, last_name: str, password: str
) -> User:
    """A new login for the invited address; the link proved the address, so it is confirmed."""
    with transaction.atomic():
        user = User.objects.create_user(
            email=invitation.email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            email_confirmed_at=timezone.now(),
        )
        team_invitation_accept(invitation=invitation, user=user)
    return user


def _lock_owners(company_id: int) -> list[Membership]:
    # Row locks on every owner: two owners demoting each other at once cannot leave none.
    return list(
        Membership.objects.for_company(company_id)
        .filter(role=Role.OWNER)
        .select_for_update()
        .order_by("pk")
    )


def membership_role_change(*, membership: Membership, role: str) -> None:
    with transaction.atomic():
        owners = _lock_owners(membership.company_id)
        if role != Role.OWNER and [m.pk for m in owners] == [membership.pk]:
            raise LastOwnerError
        Membership.objects.for_company(membership.company_id).filter(pk=membership.pk).update(
            role=role
        )


def membership_remove(*, membership: Membership) -> None:
    with transaction.atomic():
        owners = _lock_owners(membership.company_id)
        if [m.pk for m in owners] == [membership.pk]:
            raise LastOwnerError
        Membership.objects.for_company(membership.company_id).filter(pk=membership.pk).delete()
