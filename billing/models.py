"""Plans, contracts and invoices (R31-R34). Invoices are immutable once issued."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from companies.tenancy import TenantModel


class Plan(models.Model):
    """A price plan, managed by platform staff (not tenant-owned). Prices are net, in EUR."""

    class NoticeUnit(models.TextChoices):
        MONTHS = "months", "months"
        DAYS = "days", "days"

    name = models.CharField(max_length=100, unique=True)
    price_per_period = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR", editable=False)
    period_months = models.PositiveSmallIntegerField(default=1)
    minimum_term_months = models.PositiveSmallIntegerField(default=12)
    renewal_term_months = models.PositiveSmallIntegerField(default=12)
    notice_period = models.PositiveSmallIntegerField(default=1)
    notice_unit = models.CharField(max_length=6, choices=NoticeUnit.choices, default="months")
    included_invitations_per_month = models.PositiveIntegerField(default=0)
    overage_price = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    setup_fee = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    upgrade_offer = models.BooleanField(
        default=False, help_text="offered to customers in the backend as an upgrade (R40)"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(period_months__gte=1), name="plan_period_min"),
            models.CheckConstraint(condition=Q(currency="EUR"), name="plan_currency_eur"),
        ]

    def __str__(self) -> str:
        return self.name


class Contract(TenantModel):
    """A company's contract on a plan. ``current_period_*`` is the current term (R33)."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        ACTIVE = "active", "active"
        TERMINATED = "terminated", "terminated (running until ends_on)"
        ENDED = "ended", "ended"

    class TerminationKind(models.TextChoices):
        NONE = "", "-"
        CUSTOMER = "customer", "by the customer (R33)"
        STAFF = "staff", "by staff on the customer's behalf (R33)"
        EXTRAORDINARY = "extraordinary", "extraordinary, for good cause (R39)"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    concluded_on = models.DateField()
    starts_on = models.DateField(null=True, blank=True)
    current_period_start = models.DateField(null=True, blank=True)
    current_period_end = models.DateField(null=True, blank=True, help_text="inclusive")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    termination_requested_on = models.DateField(null=True, blank=True)
    termination_kind = models.CharField(
        max_length=16, choices=TerminationKind.choices, blank=True, default=""
    )
    termination_reason = models.CharField(max_length=500, blank=True)
    ends_on = models.DateField(null=True, blank=True, help_text="last day, inclusive")
    # R40: after an upgrade billed for its whole minimum term, the per-period invoices of the
    # billing run start again here (None: at ``starts_on``).
    billed_from = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-concluded_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="contract_id_company_key"),
        ]

    def __str__(self) -> str:
        return f"Contract {self.pk} ({self.plan_id})"


class InvoiceNumberCounter(models.Model):
    """The last invoice number of a year; rows are locked while a number is allocated."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(TenantModel):
    """An issued invoice or credit note. Immutable: corrections are credit notes (R34)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "invoice"
        CREDIT_NOTE = "credit_note", "credit note"
        CHARGE = "charge", "charge (fees, interest, overage, handling)"

    class VatTreatment(models.TextChoices):
        DE_VAT = "de_vat", "German VAT"
        REVERSE_CHARGE = "reverse_charge", "reverse charge (EU business)"
        NO_VAT = "no_vat", "not taxable in Germany (outside the EU)"
        DAMAGES = "damages", "not taxable: damages and default interest"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(max_length=20, unique=True)
    issued_on = models.DateField()
    period_start = models.DateField()
    period_end = models.DateField()
    net = models.DecimalField(max_digits=12, decimal_places=2)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat = models.DecimalField(max_digits=12, decimal_places=2)
    gross = models.DecimalField(max_digits=12, decimal_places=2)
    vat_treatment = models.CharField(max_length=16, choices=VatTreatment.choices)
    legal_note = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    buyer_name = models.CharField(max_length=200)
    buyer_address = models.TextField(blank=True)
    buyer_vat_id = models.CharField(max_length=20, blank=True)
    charge_key = models.CharField(
        max_length=120,
        blank=True,
        help_text="what a charge is for, e.g. return-fee:12; one charge invoice per key",
    )

    class Meta:
        ordering = ["-issued_on", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "charge_key"],
                condition=~Q(charge_key=""),
                name="invoice_one_per_charge_key",
            ),
            models.UniqueConstraint(fields=["id", "company"], name="invoice_id_company_key"),
            models.UniqueConstraint(
                fields=["contract", "period_start"],
                condition=Q(kind="invoice"),
                name="invoice_one_per_contract_period",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("An issued invoice cannot be changed; issue a credit note.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("An issued invoice cannot be deleted; issue a credit note.")


class InvoiceLine(TenantModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=12, decimal_places=2, default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4)
    net = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A line of an issued invoice cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A line of an issued invoice cannot be deleted.")


class InvoiceDocument(TenantModel):
    """The invoice's PDF with its embedded EN 16931 e-invoice, rendered once and kept: the
    factur-x library stamps the render time into the PDF, and seller data in settings may
    change later, so a stored copy is the only way the same invoice stays the same bytes."""

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="document")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"PDF of invoice {self.invoice_id}"


class PriceIncrease(TenantModel):
    """A scheduled price increase of one contract on its plan (R38, 004 §14.9)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    old_price = models.DecimalField(max_digits=12, decimal_places=2)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    announced_on = models.DateField()
    effective_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(new_price__gt=models.F("old_price")), name="priceincrease_is_increase"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.old_price} -> {self.new_price} from {self.effective_on}"
