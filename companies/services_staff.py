"""Platform staff accounts, their second factor and the moderators' permission set (TESTPLAN
TI-5(d)).

Shared by the ``create_staff`` management command and the tests, so both grant exactly the same
permissions. Every staff login gets a TOTP device: the admin lets nobody in without a code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from companies.models import User

MODERATORS_GROUP = "Moderators"

# What moderators may do in the admin: read the review data and work the moderation queue and
# enforcement (every change goes through moderation services and the moderation log). Deliberately
# absent: users, groups, permissions, memberships, API keys, OTP devices, invitation links,
# private dialogue, network hashes and billing (TI-5(d)).
MODERATOR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "reviews.Review": ("view",),
    "reviews.ReviewVersion": ("view",),
    "reviews.ReviewMedia": ("view",),
    "reviews.CompanyComment": ("view",),
    "invitations.Order": ("view",),
    "invitations.Invitation": ("view",),
    "companies.Company": ("view",),
    "companies.Shop": ("view",),
    "companies.Product": ("view",),
    "seals.SealStatus": ("view",),
    "seals.SealHistory": ("view",),
    "moderation.QueuedReview": ("view", "change"),
    "moderation.ShopEnforcement": ("view", "change"),
    "moderation.Complaint": ("view",),
    "moderation.IntegritySignal": ("view", "change"),
    "moderation.ModerationFinding": ("view",),
    "moderation.ModerationLogEntry": ("view",),
    "moderation.ReplacementOffer": ("view",),
}


@dataclass(frozen=True)
class StaffUser:
    user: User
    created: bool
    # The generated password, returned once; None when the caller chose it or kept the old one.
    generated_password: str | None
    # The otpauth:// URI of a new TOTP device, returned once; None when the device was kept.
    totp_uri: str | None = None


def _permission(label: str, action: str) -> Permission:
    model = apps.get_model(label)
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    codename = f"{action}_{model._meta.model_name}"
    # get_or_create: the permission rows come from post_migrate, which a fresh database (or a
    # test database built without it) may not have run yet.
    permission, _created = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
    )
    return permission


def moderators_group_ensure() -> Group:
    """The Moderators group with exactly ``MODERATOR_PERMISSIONS``; safe to run again."""
    with transaction.atomic():
        group, _created = Group.objects.get_or_create(name=MODERATORS_GROUP)
        wanted = [
            _permission(label, action)
            for label, actions in MODERATOR_PERMISSIONS.items()
            for action in actions
        ]
        # set(): a permission someone added by hand is taken away again.
        group.permissions.set(wanted)
    return group


def staff_totp_device(*, user: User, reset: bool = False) -> str | None:
    """Give ``user`` a confirmed TOTP device; the provisioning URI if one was made (once)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    devices = TOTPDevice.objects.filter(user=user)
    if devices.exists() and not reset:
        return None
    devices.delete()
    device = TOTPDevice.objects.create(user=user, name="admin", confirmed=True)
    return device.config_url


def staff_user_upsert(
    *, email: str, password: str | None = None, moderator: bool = False, reset_totp: bool = False
) -> StaffUser:
    """Create platform staff or update an existing login to it.

    A moderator is staff in the Moderators group; anyone else is a superuser. An existing
    user keeps their password unless ``password`` is given; a new user without one gets a
    generated password, returned once in the result. A user without a TOTP device (or with
    ``reset_totp``) gets a new one, whose URI is returned once.
    """
    email = User.objects.normalize_email(email).strip().lower()
    generated = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        created = user is None
        if created:
            if password is None:
                password = generated = secrets.token_urlsafe(18)
            user = User(email=email)
        if password is not None:
            user.set_password(password)
        user.is_staff = True
        user.is_active = True
        user.is_superuser = not moderator
        user.save()
        group = moderators_group_ensure()
        if moderator:
            user.groups.add(group)
        else:
            user.groups.remove(group)
        totp_uri = staff_totp_device(user=user, reset=reset_totp)
    return StaffUser(user=user, created=created, generated_password=generated, totp_uri=totp_uri)
