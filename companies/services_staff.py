"""Platform staff accounts and the moderators' permission set (TESTPLAN TI-5(d)).

Shared by the ``create_staff`` management command and the tests, so both grant exactly the same
permissions.
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

# What moderators may do in the admin: read the review data and change reviews. Deliberately
# absent: users, groups, permissions, memberships, API keys, invitation links (TI-5(d)).
MODERATOR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "reviews.Review": ("view", "change"),
    "reviews.ReviewVersion": ("view",),
    "invitations.Order": ("view",),
    "invitations.Invitation": ("view",),
    "companies.Company": ("view",),
    "companies.Shop": ("view",),
    "companies.Product": ("view",),
    "seals.SealStatus": ("view",),
    "seals.SealHistory": ("view",),
}


@dataclass(frozen=True)
class StaffUser:
    user: User
    created: bool
    # The generated password, returned once; None when the caller chose it or kept the old one.
    generated_password: str | None


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


def staff_user_upsert(
    *, email: str, password: str | None = None, moderator: bool = False
) -> StaffUser:
    """Create platform staff or update an existing login to it.

    A moderator is staff in the Moderators group; anyone else is a superuser. An existing
    user keeps their password unless ``password`` is given; a new user without one gets a
    generated password, returned once in the result.
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
    return StaffUser(user=user, created=created, generated_password=generated)
