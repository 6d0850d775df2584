"""Orders and their invitations (rating links): DESIGN.md §2, rules R5-R11."""

from __future__ import annotations

import hashlib
import secrets

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from companies.models import Product, Shop
from companies.tenancy import TenantModel

TOKEN_BYTES = 32  # 256 random bits; AU-1 asks for at least 128 and no UUIDs.


def new_token() -> tuple[str, str]:
    """A fresh rating-link token and the SHA-256 hex digest that is all we store (R9, AU-1)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_expiry(created_at) -> object:
    """Six calendar months after creation (004 §6.4)."""
    return created_at + relativedelta(months=settings.INVITATION_LINK_VALIDITY_MONTHS)


class Order(TenantModel):
    """An end-user agreement (004 §2.10). ``order_id`` is the only durable link to the evaluator."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders")
    order_id = models.CharField(max_length=255)
    ordered_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    locale = models.CharField(max_length=8, default="en")
    # R6: the company attests consent; ``False`` means the order is kept but nobody is emailed.
    consent = models.BooleanField(default=True)

    class Meta:
        ordering = ["-ordered_at"]
        constraints = [
            # R5: the same (shop, order_id) never makes a second order or invitation.
            models.UniqueConstraint(fields=["shop", "order_id"], name="order_unique_per_shop"),
            models.UniqueConstraint(fields=["id", "company"], name="order_id_company_key"),
            models.CheckConstraint(condition=~Q(order_id=""), name="order_id_not_empty"),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "-ordered_at"], name="order_company_shop_date"),
        ]

    def __str__(self) -> str:
        return self.order_id


class OrderItem(TenantModel):
    """A product bought in an order; the invitation asks for one product review per item (R13)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orderitem_unique_product"),
        ]
        indexes = [models.Index(fields=["company", "shop", "product"], name="orderitem_company")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.product_id}"


_INVITATION_STATUSES: list[str] = []  # filled from Invitation.Status below


class Invitation(TenantModel):
    """One rating link for one order: token hash, schedule, status, reminders, expiry (004 §6)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")  # waiting for its due time
        SENDING = "sending", _("sending")  # claimed by the sender
        SENT = "sent", _("sent")  # email delivered to the SMTP server
        RATED = "rated", _("rated")  # the evaluator used the link
        EXPIRED = "expired", _("expired")  # six months passed (R9)
        SUPPRESSED = "suppressed", _("not sent")  # no consent, unsubscribed, bounced (R6)
        FAILED = "failed", _("failed")  # permanent delivery failure

    # The allowed moves of the status machine; services move status with conditional UPDATEs.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.SCHEDULED: frozenset({Status.SENDING, Status.SUPPRESSED, Status.EXPIRED}),
        Status.SENDING: frozenset(
            {Status.SENT, Status.SCHEDULED, Status.FAILED, Status.SUPPRESSED, Status.EXPIRED}
        ),
        Status.SENT: frozenset({Status.SENDING, Status.RATED, Status.EXPIRED}),
        Status.RATED: frozenset({Status.EXPIRED}),
        Status.FAILED: frozenset({Status.EXPIRED}),
        Status.SUPPRESSED: frozenset({Status.EXPIRED}),
        Status.EXPIRED: frozenset(),
    }

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="invitations")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="invitation")
    # Personal data, used only to send the invitation and erased after retention (R11).
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    personal_data_erased_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    # Explicit (not auto_now_add) so that expires_at is computed from exactly this instant.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["id", "company"], name="invitation_id_company_key"),
            models.CheckConstraint(
                condition=Q(status__in=_INVITATION_STATUSES), name="invitation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_after_create"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="invitation_company_status"),
            # The outbox sweep: due invitations across tenants, oldest first.
            models.Index(
                fields=["due_at"],
                name="invitation_due_scheduled",
                condition=Q(status="scheduled"),
            ),
            models.Index(
                fields=["next_reminder_at"],
                name="invitation_reminder_due",
                condition=Q(status="sent"),
            ),
            models.Index(fields=["expires_at"], name="invitation_expiry"),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.status})"

    def save(self, *args, **kwargs):
        if self.expires_at is None:
            self.expires_at = link_expiry(self.created_at)
        super().save(*args, **kwargs)

    @classmethod
    def can_move(cls, source: str, target: str) -> bool:
        return target in cls.TRANSITIONS.get(source, frozenset())

    @property
    def is_link_valid(self) -> bool:
        return self.status != self.Status.EXPIRED and timezone.now() < self.expires_at


class InvitationLink(TenantModel):
    """One rating-link token of an invitation, stored only as its SHA-256 (R9, AU-1).

    A token is minted when an email carrying it is sent (the first invitation, a reminder, a
    link request), because the plaintext exists only in that email. Every link of an invitation
    stays usable until the invitation itself expires, six months after its creation.
    """

    class Purpose(models.TextChoices):
        INVITATION = "invitation", _("invitation")
        REMINDER = "reminder", _("reminder")
        LINK_REQUEST = "link_request", _("link request")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106 (a pattern, not a secret)
                name="invitationlink_sha256",
            ),
        ]
        indexes = [models.Index(fields=["company", "invitation"], name="invitationlink_company")]

    def __str__(self) -> str:
        return f"link {self.pk} of invitation {self.invitation_id} ({self.purpose})"


_INVITATION_STATUSES.extend(Invitation.Status.values)
