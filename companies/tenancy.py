"""Tenant isolation that fails closed (STYLE.md 5-8, TESTPLAN TI-4).

Every tenant-owned model uses :class:`TenantManager` as its default manager. Its queries raise
``ScopeError`` unless one of these holds:

- a company scope is active (``with tenant_scope(company): ...``; the backend middleware, the
  API base viewset and tenant tasks enter it), and then every query is filtered to that company;
- the caller names the company: ``Model.objects.for_company(company)``;
- the caller deliberately crosses tenants and says so: ``Model.objects.unscoped()`` or
  ``with cross_tenant(): ...`` (nightly sweeps, staff admin), with a comment saying why.

Scopes are context variables from django-scopes, so they follow threads and async tasks.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django_scopes import ScopeError, get_scope, scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet

if TYPE_CHECKING:
    from companies.models import Company

__all__ = [
    "ScopeError",
    "TenantManager",
    "TenantModel",
    "TenantQuerySet",
    "access_object",
    "cross_tenant",
    "tenant_scope",
]


@contextmanager
def tenant_scope(company: Company | int):
    """Run the block as ``company``: tenant queries inside are filtered to it."""
    company_id = company if isinstance(company, int) else company.pk
    with scope(company=company_id):
        yield


@contextmanager
def cross_tenant():
    """Run the block across all tenants. Only for sweeps and staff tools; say why at the call."""
    with scopes_disabled():
        yield


def active_company_id() -> int | None:
    current = get_scope()
    if not current.get("_enabled", True):
        return None
    return current.get("company")


class TenantQuerySet(models.QuerySet):
    company_field = "company"

    def for_company(self, company: Company | int) -> TenantQuerySet:
        return self.filter(**{self.company_field: company})


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of every tenant model: scoped by the active company or refusing."""

    def get_queryset(self) -> TenantQuerySet:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        company_id = current.get("company")
        if company_id is None:
            return DisabledQuerySet(self.model, using=self._db, missing_scopes=["company"])
        return super().get_queryset().filter(company_id=company_id)

    def all(self):
        queryset = super().all()
        if isinstance(queryset, DisabledQuerySet):
            queryset.error()
        return queryset

    def for_company(self, company: Company | int) -> TenantQuerySet:
        company_id = company if isinstance(company, int) else company.pk
        return self.unscoped().filter(company_id=company_id)

    def unscoped(self) -> TenantQuerySet:
        """All tenants' rows. A deliberate cross-tenant read: say why at the call site."""
        return TenantQuerySet(self.model, using=self._db)


def company_key_led() -> models.ForeignKey:
    """``TenantModel.company`` without an index of its own, for a busy table whose composite
    indexes already lead with ``company_id`` (they serve the tenant filter and the cascade): one
    index fewer to write on every insert and status change (``bench``, rating and ingest)."""
    return models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="+", db_index=False
    )


def tenant_keyed(to, *, one_to_one: bool = False, **kwargs) -> models.ForeignKey:
    """A reference whose only constraint on Postgres is its composite tenant key
    ``(x_id, company_id)`` (``companies.db.AddTenantForeignKey``).

    That key already proves the row exists, so Django's single-column key would make Postgres
    check the same row a second time on every insert: on the busy tables (orders, their items
    and invitations, written by every ingested order; reviews and their versions, written by
    every rating submission) that is a third or more of the integrity checks.
    The migration that drops it (``companies.db.AlterFieldOnPostgres``) leaves SQLite, which has
    no composite keys, with Django's key. Deletion rules (``on_delete``) stay Django's.
    """
    field = models.OneToOneField if one_to_one else models.ForeignKey
    return field(to, db_constraint=False, **kwargs)


class TenantModel(models.Model):
    """Base for every row that belongs to a company (and usually a shop).

    ``save()`` refuses a row whose related tenant objects belong to another company; on
    Postgres composite foreign keys enforce the same in the database (``companies.db``).
    """

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.check_same_company()
        super().save(*args, **kwargs)

    def check_same_company(self) -> None:
        for field in self._meta.concrete_fields:
            if not field.is_relation or field.name == "company":
                continue
            related_model = field.related_model
            if not (isinstance(related_model, type) and issubclass(related_model, TenantModel)):
                continue
            related = getattr(self, field.name, None) if field.is_cached(self) else None
            if related is None:
                related_id = getattr(self, field.attname)
                if related_id is None:
                    continue
                related_company = (
                    related_model.objects.unscoped()
                    .filter(pk=related_id)
                    .values_list("company_id", flat=True)
                    .first()
                )
            else:
                related_company = related.company_id
            if related_company is not None and related_company != self.company_id:
                raise ValidationError(
                    {field.name: "belongs to another company"}, code="cross_tenant"
                )


def access_object(model: type[TenantModel], *, company: Company | int, **lookup):
    """Fetch one tenant object by id for a view: another company's object is a plain 404."""
    try:
        return model.objects.for_company(company).get(**lookup)
    except (model.DoesNotExist, ValueError, ValidationError, TypeError) as exc:
        raise Http404(f"No {model._meta.verbose_name} matches the given query.") from exc
