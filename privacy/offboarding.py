"""Offboarding: a company's data leaves the platform (R31, GD-4; GDPR Art. 28(3)(g)).

``company_offboard`` deletes every row of the company except what the law or the audit log
must keep: contracts and invoices (HGB §257; they hold only the company's business data), the
append-only moderation log (whose snapshots hold digests, not text, ``moderation.log``) and
the company row and those shops the log names (business data only). Uploaded files go first,
then the rows; the company's members lose their accounts unless they belong to another company
(an account the log names as actor keeps its row, without name or address). Cached public
pages of the company's shops are deleted from Redis too. Running it twice deletes nothing more.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import FileField, ProtectedError

from companies.models import Membership, Shop
from companies.tenancy import TenantModel
from moderation.models import ModerationLogEntry
from privacy.services import exports_delete_files

logger = logging.getLogger(__name__)

# Kept on offboarding: invoices, payments and what they name (accounting records, HGB §257,
# 10 years; business data of the company), the append-only audit log (R19).
KEPT = frozenset(
    {
        "billing.Contract",
        "billing.Invoice",
        "billing.InvoiceLine",
        "payments.Payment",
        "payments.CollectionItem",
        ModerationLogEntry._meta.label,
    }
)


def _tenant_models() -> list[type[TenantModel]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel) and not model._meta.proxy
    ]


def _delete_files(company_id: int) -> int:
    removed = 0
    for model in _tenant_models():
        if model._meta.label in KEPT:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, FileField):
                continue
            rows = model.objects.for_company(company_id).exclude(**{field.name: ""})
            for row in rows.only("pk", field.name):
                getattr(row, field.name).delete(save=False)
                removed += 1
    return removed


def _delete_rows(company_id: int, logged_shops: set[int]) -> int:
    """Delete model by model; a model protected by another's rows is retried after them."""
    pending = [m for m in _tenant_models() if m._meta.label not in KEPT and m is not Shop]
    deleted = 0
    for _attempt in range(len(pending) + 1):
        blocked = []
        for model in pending:
            try:
                with transaction.atomic():
                    count, _per_model = model.objects.for_company(company_id).delete()
            except ProtectedError:
                blocked.append(model)
                continue
            deleted += count
        if not blocked:
            break
        pending = blocked
    count, _per_model = Shop.objects.for_company(company_id).exclude(pk__in=logged_shops).delete()
    return deleted + count


def _retire_users(user_ids: set[int]) -> int:
    """Members of no other company lose their account; one the log names is anonymised."""
    User = get_user_model()
    still_members = set(
        # Deliberately cross-tenant: is the user a member of any other company?
        Membership.objects.unscoped().filter(user_id__in=user_ids).values_list("user", flat=True)
    )
    leaving = User.objects.filter(pk__in=user_ids - still_members, is_staff=False)
    named = set(
        # Deliberately cross-tenant: the chain names actors of every company.
        ModerationLogEntry.objects.unscoped()
        .filter(actor_id__in=leaving.values("pk"))
        .values_list("actor_id", flat=True)
    )
    count = 0
    for user in leaving:
        if user.pk in named:
            user.email = f"deleted-user-{user.pk}@invalid.invalid"
            user.first_name = user.last_name = ""
            user.is_active = False
            user.set_unusable_password()
            user.save()
        else:
            user.delete()
        count += 1
    return count


def public_cache_purge(shop_ids) -> int:
    """Delete the shops' cached public responses from Redis (bumping only hides them)."""
    client_of = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_of is None:
        return 0
    removed = 0
    try:
        client = client_of(None, write=True)
        for shop_id in shop_ids:
            for key in client.scan_iter(match=cache.make_key(f"seals:public:{shop_id}:*")):
                removed += client.delete(key)
            removed += client.delete(cache.make_key(f"seals:public:version:{shop_id}"))
    except Exception:
        logger.exception("public cache purge failed")
    return removed


def company_offboard(*, company_id: int) -> int:
    """Delete the company's data (see the module docstring); returns the rows deleted."""
    shop_ids = list(Shop.objects.for_company(company_id).values_list("pk", flat=True))
    with transaction.atomic():
        member_ids = set(
            Membership.objects.for_company(company_id).values_list("user_id", flat=True)
        )
        logged_shops = set(
            ModerationLogEntry.objects.for_company(company_id)
            .exclude(shop=None)
            .values_list("shop_id", flat=True)
        )
        files = _delete_files(company_id) + exports_delete_files(company_id=company_id)
        rows = _delete_rows(company_id, logged_shops)
        users = _retire_users(member_ids)
    public_cache_purge(shop_ids)
    # Ids and counts only (R43).
    if rows or files or users:
        logger.info(
            "company %s offboarded: %s rows, %s files, %s accounts", company_id, rows, files, users
        )
    return rows + users
