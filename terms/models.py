"""Offers and their acceptance, terms versions with objections, sanctions (R44, R45, R47)."""

from __future__ import annotations

import hashlib
import json

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from companies.tenancy import TenantModel


class StartRule(models.TextChoices):
    # R32 / 004 §13.3: the first order, at the latest four weeks after conclusion.
    FIRST_ORDER = "first_order", _("when the first order arrives, at the latest after four weeks")
    ON_ACCEPTANCE = "on_acceptance", _("on the day the offer is accepted")


class Offer(TenantModel):
    """Staff's offer (order form, 004 §13.1) as it is being edited. What the company sees and
    accepts is always an :class:`OfferVersion`, a frozen copy made when staff send it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SENT = "sent", _("sent")
        ACCEPTED = "accepted", _("accepted")
        WITHDRAWN = "withdrawn", _("withdrawn")

    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="+")
    special_terms = models.TextField(blank=True, help_text="terms agreed beyond the plan's")
    start_rule = models.CharField(
        max_length=16, choices=StartRule.choices, default=StartRule.FIRST_ORDER
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    self_service = models.BooleanField(default=False, help_text="standard plan from sign-up")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="offer_id_company_key"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk} ({self.company_id})"

    def content(self) -> dict:
        """What the company agrees to; a version freezes exactly this (004 §13.2)."""
        plan = self.plan
        return {
            "plan_id": plan.pk,
            "plan_name": plan.name,
            "price_per_period": str(plan.price_per_period),
            "currency": plan.currency,
            "setup_fee": str(plan.setup_fee),
            "period_months": plan.period_months,
            "minimum_term_months": plan.minimum_term_months,
            "renewal_term_months": plan.renewal_term_months,
            "notice": f"{plan.notice_period} {plan.notice_unit}",
            "special_terms": self.special_terms,
            "start_rule": self.start_rule,
        }


def content_digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class OfferVersion(TenantModel):
    """One sent state of an offer. Immutable; a change is a new version (004 §13.2)."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField()
    content = models.JSONField()
    digest = models.CharField(max_length=64)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["offer", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "number"], name="offerversion_unique"),
            models.UniqueConstraint(fields=["id", "company"], name="offerversion_id_company_key"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.offer_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A sent offer version cannot be changed; send a new one.")
        super().save(*args, **kwargs)


class OfferAcceptance(TenantModel):
    """R44: who accepted which exact version, when and from where (a truncated network)."""

    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="acceptance")
    version = models.ForeignKey(OfferVersion, on_delete=models.PROTECT, related_name="+")
    digest = models.CharField(max_length=64)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField()
    client_network = models.CharField(
        max_length=50, blank=True, help_text="IPv4 /24 or IPv6 /48 the acceptance came from"
    )
    contract = models.ForeignKey(
        "billing.Contract", null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"Acceptance of offer {self.offer_id} v{self.version_id}"


class TermsVersion(models.Model):
    """A version of the terms or the review conditions (R45), written by staff."""

    class Kind(models.TextChoices):
        COMPANY_TERMS = "company_terms", _("terms for company contracts")
        REVIEW_CONDITIONS = "review_conditions", _("review conditions")
        SERVICE_PACKAGES = "service_packages", _("terms for service packages")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.CharField(max_length=30, help_text="e.g. 2026-03")
    title = models.CharField(max_length=200)
    body = models.TextField()
    summary_of_changes = models.TextField(blank=True)
    effective_on = models.DateField()
    announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-effective_on"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="termsversion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"

    @property
    def objection_period(self) -> relativedelta:
        # 001 §13.1: six weeks for service packages; 004 §18.6: one month for company contracts.
        if self.kind == self.Kind.SERVICE_PACKAGES:
            return relativedelta(weeks=6)
        return relativedelta(months=1)


class TermsAcceptance(TenantModel):
    """Which version a company agreed to, and how (R45: every company's version on record)."""

    class How(models.TextChoices):
        SIGNUP = "signup", _("accepted at sign-up")
        CONCLUSION = "conclusion", _("accepted with the contract")
        NO_OBJECTION = "no_objection", _("no objection within the period")

    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="+")
    how = models.CharField(max_length=16, choices=How.choices)
    accepted_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(fields=["company", "version"], name="termsacceptance_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.company_id} accepted {self.version_id}"


class TermsObjection(TenantModel):
    """A company's objection to an announced version (004 §18.6, 001 §13.1)."""

    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="+")
    objected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    objected_at = models.DateTimeField()
    remark = models.TextField(blank=True)

    class Meta:
        ordering = ["-objected_at"]
        constraints = [
            models.UniqueConstraint(fields=["company", "version"], name="termsobjection_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.company_id} objected to {self.version_id}"


class HandlingFee(models.Model):
    """The schedule of handling fees (001 §8.4), net EUR, edited by staff."""

    class Kind(models.TextChoices):
        BLOCK = "block", _("blocking the account")
        REINSTATEMENT = "reinstatement", _("reinstating a blocked account")

    kind = models.CharField(max_length=16, choices=Kind.choices, unique=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount} EUR"


class Sanction(TenantModel):
    """A breach being handled (001 §8): warning, then restriction or block, then the end."""

    class Stage(models.TextChoices):
        WARNED = "warned", _("warned")
        RESTRICTED = "restricted", _("access restricted")
        BLOCKED = "blocked", _("access blocked")
        CLOSED = "closed", _("closed")

    ground = models.CharField(max_length=32, help_text="an R30 enforcement reason")
    breach = models.TextField(help_text="what the company does wrong; shown to the company")
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.WARNED)
    grace_until = models.DateField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="sanction_id_company_key"),
            models.CheckConstraint(
                condition=Q(stage__in=["warned", "restricted", "blocked", "closed"]),
                name="sanction_stage_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Sanction {self.pk} ({self.get_stage_display()})"


class SanctionStep(TenantModel):
    """One recorded step of a sanction, with reason and dates (R47). Append-only."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("warning")
        RESTRICTION = "restriction", _("restriction")
        BLOCK = "block", _("block")
        REINSTATEMENT = "reinstatement", _("reinstatement")
        CLOSURE = "closure", _("closed without further steps")

    sanction = models.ForeignKey(Sanction, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    taken_at = models.DateTimeField()
    grace_until = models.DateField(null=True, blank=True)
    actions = models.JSONField(default=list, help_text="R30 actions taken")
    fee_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["taken_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of sanction {self.sanction_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A sanction step is a record; take a new step instead.")
        super().save(*args, **kwargs)
