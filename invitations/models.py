"""Orders and their invitations (rating links): DESIGN.md §2, rules R5-R11."""

from __future__ import annotations

import os
import uuid

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from companies.models import Product, Shop
from companies.tenancy import TenantModel, company_key_led, tenant_keyed


def email_digest(address: str) -> str:
    """A keyed hash of a normalized address: suppression lists match without keeping it."""
    return salted_hmac(
        "invitations.suppression", address.strip().lower(), algorithm="sha256"
    ).hexdigest()


def link_expiry(created_at) -> object:
    """Six calendar months after creation (004 §6.4)."""
    return created_at + relativedelta(months=settings.INVITATION_LINK_VALIDITY_MONTHS)


class Order(TenantModel):
    """An end-user agreement (004 §2.10). ``order_id`` is the only durable link to the evaluator."""

    shop = tenant_keyed(Shop, on_delete=models.CASCADE, related_name="orders")
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

    shop = tenant_keyed(Shop, on_delete=models.CASCADE, related_name="+")
    order = tenant_keyed(Order, on_delete=models.CASCADE, related_name="items")
    product = tenant_keyed(Product, on_delete=models.PROTECT, related_name="order_items")

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
        Status.SCHEDULED: frozenset(
            {Status.SENDING, Status.SUPPRESSED, Status.RATED, Status.EXPIRED}
        ),
        Status.SENDING: frozenset(
            {
                Status.SENT,
                Status.SCHEDULED,
                Status.FAILED,
                Status.SUPPRESSED,
                Status.RATED,
                Status.EXPIRED,
            }
        ),
        Status.SENT: frozenset({Status.SENDING, Status.RATED, Status.EXPIRED}),
        Status.RATED: frozenset({Status.EXPIRED}),
        Status.FAILED: frozenset({Status.EXPIRED}),
        Status.SUPPRESSED: frozenset({Status.RATED, Status.EXPIRED}),
        Status.EXPIRED: frozenset(),
    }

    class SuppressionReason(models.TextChoices):
        NONE = "", _("none")
        NO_CONSENT = "no_consent", _("the customer did not consent (R6)")
        UNSUBSCRIBED = "unsubscribed", _("the address unsubscribed from this shop")
        BOUNCED = "bounced", _("the address bounced hard")
        NO_EMAIL = "no_email", _("no email address; the shop hands out the link itself")
        SELECTION_GROUP = "selection_group", _("outside the approved selection group (R8)")

    company = company_key_led()  # invitation_company_status leads with it
    shop = tenant_keyed(Shop, on_delete=models.CASCADE, related_name="invitations")
    order = tenant_keyed(
        Order, one_to_one=True, on_delete=models.CASCADE, related_name="invitation"
    )
    # Public reference (API answers, Message-IDs) that reveals neither order nor sequence.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The rating link's token is derived from this nonce with a server secret (tokens.py); the
    # database holds the nonce and the token's SHA-256, never the token itself (R9, AU-1).
    token_nonce = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64)  # unique: invitation_token_hash_unique
    # Personal data, used only to send the invitation and erased after retention (R11).
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    personal_data_erased_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    suppression_reason = models.CharField(
        max_length=20, choices=SuppressionReason.choices, blank=True, default=""
    )
    due_at = models.DateTimeField()
    # When the sender claimed it; a claim older than the lease is stale and swept again.
    claimed_at = models.DateTimeField(null=True, blank=True)
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
            # A constraint rather than unique=True: no second, pattern-matching index on a hash
            # nobody searches with LIKE.
            models.UniqueConstraint(fields=["token_hash"], name="invitation_token_hash_unique"),
            models.CheckConstraint(
                condition=Q(status__in=_INVITATION_STATUSES), name="invitation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_after_create"
            ),
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106 (a pattern)
                name="invitation_token_sha256",
            ),
            models.CheckConstraint(
                condition=Q(status="suppressed", suppression_reason__gt="")
                | (~Q(status="suppressed") & Q(suppression_reason="")),
                name="invitation_suppression_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="invitation_company_status"),
            # The backend's list: a shop's invitations, newest first, a page at a time.
            models.Index(
                fields=["company", "shop", "-created_at"], name="invitation_company_created"
            ),
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


class Suppression(TenantModel):
    """An address this shop must never invite again (R6): unsubscribed or bounced hard.

    Only a keyed digest of the address is kept, so the list outlives the invitation's personal
    data (R11) without keeping the address itself.
    """

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
        BOUNCED = "bounced", _("bounced hard")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    email_digest = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=Reason.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "email_digest"], name="suppression_unique"),
        ]
        indexes = [models.Index(fields=["company", "shop"], name="suppression_company_shop")]

    def __str__(self) -> str:
        return f"{self.reason} ({self.email_digest[:8]}…)"


class InvitationEmail(TenantModel):
    """One email of an invitation (the invitation or the n-th reminder): the send record.

    Claimed before the SMTP call and stamped after it, so a duplicated task sends nothing and a
    crash mid-send repeats the email at most once, with the same Message-ID (STYLE.md 4, ID-4).
    """

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("invitation")
        REMINDER_1 = "reminder_1", _("first reminder")
        REMINDER_2 = "reminder_2", _("second reminder")
        REMINDER_3 = "reminder_3", _("third reminder")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        RETRY = "retry", _("waiting to retry")
        SENT = "sent", _("delivered to the mail server")
        BOUNCED = "bounced", _("refused by the mail server")
        FAILED = "failed", _("failed")

    company = company_key_led()  # invitationemail_company leads with it
    shop = tenant_keyed(Shop, on_delete=models.CASCADE, related_name="+")
    # invitationemail_unique (invitation, kind) leads with it: no index of its own.
    invitation = tenant_keyed(
        Invitation, on_delete=models.CASCADE, related_name="emails", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message_id = models.CharField(max_length=255)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invitation", "kind"], name="invitationemail_unique"),
        ]
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="invitationemail_company")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of invitation {self.invitation_id} ({self.status})"


class EmailTemplate(TenantModel):
    """A shop's own subject and text for one kind of email in one language (sandboxed)."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("invitation")
        REMINDER = "reminder", _("reminder")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    locale = models.CharField(max_length=8)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "kind", "locale"], name="emailtemplate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.locale}) of shop {self.shop_id}"


class IdempotencyKey(TenantModel):
    """The first answer to an API write sent with an ``Idempotency-Key`` (ID-2)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="idempotencykey_unique"),
        ]
        indexes = [models.Index(fields=["company", "created_at"], name="idempotencykey_company")]

    def __str__(self) -> str:
        return f"{self.key[:20]} ({self.status_code or 'in flight'})"


class OrderImport(TenantModel):
    """A CSV file of orders, imported in the background with a per-line report (IN-3, ID-3)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_known = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # The first rejected lines inline; the full list is the CSV report file.
    report_sample = models.JSONField(default=list, blank=True)
    report = models.FileField(upload_to="imports/reports/", blank=True)
    error = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["company", "shop", "-created_at"], name="orderimport_company")
        ]

    def __str__(self) -> str:
        return f"import {self.public_id} ({self.status})"


class PrivateStorage(FileSystemStorage):
    """Files only staff read, through the admin: under PRIVATE_MEDIA_ROOT, never given a URL."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def _private_storage():
    return PrivateStorage()


class LinkRequest(TenantModel):
    """Someone who bought but got no link asks for one from the certificate page (R10, 004 §5.9).

    Sent automatically when the order is known and the email matches it; otherwise it waits for
    staff, who look at the evidence.
    """

    class Status(models.TextChoices):
        SENT = "sent", _("link sent automatically")
        PENDING = "pending", _("waiting for staff")
        APPROVED = "approved", _("approved, link sent")
        REJECTED = "rejected", _("rejected")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="link_requests"
    )
    order_reference = models.CharField(max_length=255)
    # Personal data: used to answer this request, erased with the invitation data (R11).
    email = models.EmailField()
    evidence = models.FileField(upload_to="evidence/", storage=_private_storage, blank=True)
    message = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["company", "shop", "status"], name="linkrequest_company_status"),
        ]

    def __str__(self) -> str:
        return f"link request {self.pk} ({self.status})"


_INVITATION_STATUSES.extend(Invitation.Status.values)
