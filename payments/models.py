"""SEPA mandates, collections, payments and returns, dunning (R35, R36, R39).

Amounts are EUR ``Decimal`` with two places. Every date is a calendar date in the platform's
time zone; services take ``today`` so the daily run can be replayed for any day.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from companies.tenancy import TenantModel


class PaymentMethod(models.TextChoices):
    SEPA = "sepa", _("SEPA direct debit")
    TRANSFER = "transfer", _("bank transfer")


class PaymentSettings(TenantModel):
    """How a company pays. SEPA direct debit unless staff approved another method (004 §14.2)."""

    method = models.CharField(max_length=10, choices=PaymentMethod.choices, default="sepa")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "payment settings"
        constraints = [
            models.UniqueConstraint(fields=["company"], name="paymentsettings_one_per_company"),
        ]

    def __str__(self) -> str:
        return f"{self.company_id}: {self.method}"


class Mandate(TenantModel):
    """A SEPA core direct debit mandate the company's owner granted (R35, 004 §14.4)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REVOKED = "revoked", _("revoked")

    reference = models.CharField(max_length=35, unique=True)
    account_holder = models.CharField(max_length=70)
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    signed_on = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    revoked_on = models.DateField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-signed_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="mandate_id_company_key"),
            models.UniqueConstraint(
                fields=["company"], condition=Q(status="active"), name="mandate_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def iban_masked(self) -> str:
        """Country, check digits and the last four characters; the rest hidden."""
        return f"{self.iban[:4]} •••• {self.iban[-4:]}"


class BaseRate(models.Model):
    """The Bundesbank base rate (§ 247 BGB), valid from a date until the next row (R36)."""

    valid_from = models.DateField(unique=True)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent per year")

    class Meta:
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.valid_from}: {self.rate} %"


class Prenotification(TenantModel):
    """The notice of an upcoming debit: amount, mandate and date, sent before collection (R35)."""

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    collection_date = models.DateField()
    notified_on = models.DateField()

    class Meta:
        ordering = ["collection_date", "id"]

    def __str__(self) -> str:
        return f"{self.invoice_id} on {self.collection_date}"


class Collection(models.Model):
    """One pain.008 file built by staff. It spans companies: not a tenant row."""

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    collection_date = models.DateField()
    message_id = models.CharField(max_length=35)
    schema = models.CharField(max_length=20)
    count = models.PositiveIntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)
    xml = models.TextField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.count}, {self.total} EUR)"


class CollectionItem(TenantModel):
    """One debit in a collection file. One per invoice: an invoice is never collected twice."""

    class Sequence(models.TextChoices):
        FIRST = "FRST", "FRST"
        RECURRING = "RCUR", "RCUR"

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="items")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    sequence = models.CharField(max_length=4, choices=Sequence.choices)
    end_to_end_id = models.CharField(max_length=35, unique=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="collectionitem_id_company_key"),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id


class Payment(TenantModel):
    """Money in (a payment) or money taken back (a returned debit, a chargeback) (R36)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("payment")
        RETURN = "return", _("returned debit")

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    received_on = models.DateField()
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    collection_item = models.ForeignKey(
        CollectionItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on {self.received_on}"


class Reminder(TenantModel):
    """A payment reminder for an overdue invoice, with the fee and interest it charged (R36)."""

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()
    sent_on = models.DateField()
    days_overdue = models.PositiveIntegerField()
    open_amount = models.DecimalField(max_digits=12, decimal_places=2)
    fee_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    interest_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    interest_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["invoice_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="reminder_one_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.number}"


class TerminationFlag(TenantModel):
    """Two months overdue after invoicing: extraordinary termination is allowed (R39)."""

    contract = models.ForeignKey("billing.Contract", on_delete=models.PROTECT, related_name="+")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    flagged_on = models.DateField()
    terminated_on = models.DateField(null=True, blank=True)
    terminated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-flagged_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contract_id} ({self.invoice_id})"
